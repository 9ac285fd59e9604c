/**
 * The text limits of kforge, named once: how much of a kernel, an error or a log goes into a prompt, a
 * stored summary or a message. Prompts are bounded so one long kernel or log cannot crowd out the rest of
 * the context; stored summaries are one line for the tree; full texts always stay in the trace.
 */

/** A kernel's source in a prompt (planner, critic, memory exemplars); the full source stays in the store. */
export const PROMPT_KERNEL_CHARS = 12_000;
/** A compile or runtime error message in the feedback a coder or critic reads. */
export const FEEDBACK_ERROR_CHARS = 3_000;
/** A kernel's captured output (stdout/stderr) and a node's idea in feedback. */
export const FEEDBACK_LOG_CHARS = 1_500;
/** The reason kept with one failed model call attempt (retries are listed per call). */
export const RETRY_REASON_CHARS = 500;
/** The tail of a harness process's log kept with a verifier failure. */
export const HARNESS_LOG_CHARS = 4_000;
/** The tail of a harness log quoted in a message when its process ended without a result. */
export const HARNESS_LOG_QUOTE_CHARS = 1_500;
/** A tool's or endpoint's answer quoted in an error message (pre-flight, sandbox probe, ncu). */
export const QUOTED_ANSWER_CHARS = 300;
