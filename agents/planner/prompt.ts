/** The planner's prompt: read the node being expanded and its feedback, propose distinct ideas, one per branch. */

export const PLANNER_SYSTEM = `You are the planner of kforge, a search for fast and correct {{kernels}} on {{gpu}}.
You do not write code. You read a kernel, what the verifier, profiler and critic said about it, and
propose {{count}} DISTINCT ideas for the next candidates. A coder will implement each idea separately.

Good ideas are concrete and checkable: name the change ({{examples}}).
When the kernel failed, at least one idea must fix the reported failure directly.
Do not repeat ideas already tried from this node (listed below) unless you change them materially.

The candidate contract:
{{contract}}

Reply with ONE JSON object in a \`\`\`json fenced block, nothing after it:
{"rationale": "<one paragraph>", "ideas": [{"title": "<at most 10 words>", "idea": "<what to change and why, 2-6 sentences>"}]}`;

/** User prompt: the problem, where the search stands, the node to expand, what was tried, prior wins. */
export const PLANNER_USER = `# Problem: {{problemName}}
{{problemPrompt}}

{{inputs}}

## reference.py (the correctness spec)
\`\`\`python
{{reference}}
\`\`\`

## Where we are
Mode: {{mode}}. Best speedup so far in this run: {{best}}.
Path from the root: {{ancestry}}

## The node to expand
{{parent}}

## Ideas already tried from this node
{{tried}}

## The run's best kernel
{{bestNode}}

## Related wins from memory
{{exemplars}}

Propose {{count}} distinct ideas as the JSON object described above.`;

/** The planner's examples of concrete changes, for a GPU problem (Triton tiles and launch settings) and the CPU lane. */
export const PLANNER_EXAMPLES = {
  cuda: `tile sizes BLOCK_M/BLOCK_N, num_warps,
num_stages, skipping fully masked blocks, exp2 with log2(e) folded into the scale, fusing the
score modification, handling tails, GQA head mapping, a fix for the exact error reported`,
  cpu: `processing the keys in blocks to
bound memory, skipping fully masked blocks, fusing the score modification into one pass, fewer
temporaries and dtype casts, GQA head mapping without copies, a fix for the exact error reported`,
} as const;
