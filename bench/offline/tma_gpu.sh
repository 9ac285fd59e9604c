# H100 run for the tma / warp_specialize switches (bench/offline/NOTES.md, TMA section):
#   OUT=/tmp/out bash bench/offline/tma_gpu.sh [budget_s]
# correctness of the new labels on every correctness shape first, then timing (do_bench + verifier timing).
P=${PROBLEMS:-full,gqa,relpos,alibi,prefix_lm,causal,alibi_causal,softcap}
SET=${SET:-json:bench/offline/tma.json}
python3 bench/offline/quick_gpu.py --problems $P --set $SET --check ${CHECK:-tma,tma_s2,tma_s4} --correctness-only \
  --budget 90 --workers 14 2>&1 | tee $OUT/correctness.log
cp $OUT/quick_gpu.json $OUT/correctness.json
python3 bench/offline/quick_gpu.py --problems $P --set $SET --verifier-timing --budget ${1:-230} \
  --no-correctness-shapes --workers 14 2>&1 | tee $OUT/timing.log
cp $OUT/quick_gpu.json $OUT/timing.json
