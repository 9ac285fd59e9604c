# H100 run for the poly_exp2 switch (bench/offline/NOTES.md, poly_exp2 section): OUT=/tmp/out bash bench/offline/poly_gpu.sh
# Renders the variants, checks the poly labels on every correctness shape and times all labels (do_bench and the
# verifier's timing) in one quick_gpu pass, then prints registers/spills and the compact table.
P=${PROBLEMS:-softcap,full,softcap_causal,gqa,causal,alibi,relpos}
python3 bench/offline/poly_variants.py || exit 1
timeout ${LIMIT:-255} python3 bench/offline/quick_gpu.py --problems $P --set json:bench/offline/poly.json \
  --check poly,poly_q,poly_3q,poly_alt --verifier-timing --budget ${BUDGET:-215} --workers 14 > $OUT/timing.log 2>&1
echo "quick_gpu rc=$?"
grep -v '^\s*$' $OUT/timing.log | grep -E '^\[|error|Error' | cut -c1-220 | tail -n 40
timeout 25 python3 bench/offline/poly_variants.py --regs 2>&1 | grep -E '^regs|Error' | cut -c1-300
python3 bench/offline/poly_table.py $OUT/quick_gpu.json
