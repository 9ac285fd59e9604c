# H100 run for the grid2d switch (bench/offline/NOTES.md, 2-D grid section):
#   OUT=/tmp/out bash bench/offline/grid2d_gpu.sh [budget_s]
# every label of bench/offline/grid2d.json checked on the correctness and benchmark shapes, then timed
# (do_bench and the verifier's timing) next to compiled FlexAttention.
set -o pipefail
python3 bench/offline/quick_gpu.py --problems ${PROBLEMS:-natten_2d} --set ${SET:-json:bench/offline/grid2d.json} --check all \
  --verifier-timing --budget ${1:-300} --workers 14 2>&1 | tee $OUT/grid2d.log
cp $OUT/quick_gpu.json $OUT/grid2d.json
