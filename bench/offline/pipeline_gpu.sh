# H100 run for the software-pipelined key loops (bench/offline/pipeline_variants.py), from the repo root:
#   OUT=/tmp/out bash bench/offline/pipeline_gpu.sh        (about 6 minutes; PROBLEMS=full,causal to shorten)
# 1. renders the variants and bench/offline/pipeline.json; 2. correctness of the new labels on every correctness
# shape; 3. timing next to the default (do_bench + the verifier's timing); 4. TTGIR/PTX/SASS of full and causal at
# D=128/64 with the wait positions and ptxas's serialisation notes (pipeline_asm.py); 5. the compact table, last.
: "${OUT:?set OUT to the output folder}"
mkdir -p "$OUT"
P=${PROBLEMS:-full,causal,gqa,softcap,relpos,alibi,prefix_lm}
SET=json:bench/offline/pipeline.json
python3 bench/offline/pipeline_variants.py || exit 1
timeout 95 python3 bench/offline/quick_gpu.py --problems $P --set $SET --check pv_defer,pv_defer_all,pv_defer_w8,qk_ahead \
  --correctness-only --budget 75 --workers 14 > $OUT/correctness.log 2>&1
echo "correctness rc=$?"
cp $OUT/quick_gpu.json $OUT/correctness.json 2>/dev/null
timeout 200 python3 bench/offline/quick_gpu.py --problems $P --set $SET --verifier-timing --budget 170 \
  --no-correctness-shapes --workers 14 > $OUT/timing.log 2>&1
echo "timing rc=$?"
cp $OUT/quick_gpu.json $OUT/timing.json 2>/dev/null
timeout 75 python3 bench/offline/pipeline_asm.py --problem full --problem causal > $OUT/asm.log 2>&1
echo "asm rc=$?"
grep -E '^(\[|.*(Error|error))' $OUT/correctness.log $OUT/timing.log | grep -vE 'correctness ok=True|^\S+: *$' | cut -c1-200 | tail -n 25
echo "--- full D=128: Triton's wgmma waits in the TTGIR (line: op), default then pv_defer"
for lb in default pv_defer; do
  f=$OUT/asm/full_${lb}_d128.ttgir
  [ -f $f ] && { echo "$lb: $(grep -c warp_group_dot_wait $f) warp_group_dot_wait, PTX $(grep -c wgmma.wait_group $OUT/asm/full_${lb}_d128.ptx) wgmma.wait_group";
    grep -nE 'ttng.warp_group_dot(_wait)? |scf.for |scf.yield|scf.if ' $f | sed -E 's/^([0-9]+):\s*(%[^=]*= )?/\1: /' | cut -c1-110; }
done
echo "--- per kernel: regs, ptxas notes, op order (ttgir / sass), exp2 while a wgmma is in flight"
grep -vE '^\s*$' $OUT/asm.log | cut -c1-400
echo "--- speed vs default (default ms / variant ms), do_bench / verifier timing"
python3 bench/offline/pipeline_table.py $OUT/timing.json $OUT/correctness.json
