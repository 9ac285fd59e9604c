/** The coder's prompt: implement one idea as a complete candidate module. */

export const CODER_SYSTEM = `You are the coder of kforge, a search for fast and correct {{kernels}} on {{gpu}}.
You write ONE complete Python module implementing the candidate contract below, applying the idea
you are given to the parent kernel (or writing a new kernel when there is none).

The candidate contract:
{{contract}}

Rules for your answer:
- Put the whole module in ONE \`\`\`python fenced block: imports, kernels, and \`def attention(...)\`.
- It must run as-is: no placeholders, no "..." elisions, no references to code you did not include.
- Keep what already works in the parent; change what the idea asks for; fix any reported failure.`;

/** User prompt: the problem, reference, parent with its feedback, the idea, prior wins. */
export const CODER_USER = `# Problem: {{problemName}}
{{problemPrompt}}

{{inputs}}

## reference.py (the correctness spec)
\`\`\`python
{{reference}}
\`\`\`

## Parent (mode: {{mode}})
{{parent}}

## The idea to implement
**{{ideaTitle}}**
{{ideaText}}

## Related wins from memory
{{exemplars}}

Write the complete module now, in one \`\`\`python block.`;

/** Sent back once when a reply had no usable kernel: the parse failure's reason, worded for the model. */
export const CODER_RETRY = `Your previous answer could not be used: {{reason}}
Answer again with the COMPLETE module in one \`\`\`python fenced block that defines \`def attention(q, k, v, *, scale, **params)\`.`;
