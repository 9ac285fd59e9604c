"""The kernel module a scripted coder reply yields, picked as agents/parse.ts picks it (no torch needed)."""
import re

FENCE = re.compile(r"^[ \t]*(`{3,}|~{3,})\s*([\w+#.-]*)[^`]*$")


def extract_module(reply):
    """The kernel module a coder reply yields (None when it has none), as agents/parse.ts picks it."""
    text = re.sub(r"<think>.*?(</think>|$)", "", reply, flags=re.S)
    blocks, cur = [], None
    for line in text.split("\n"):
        if cur is None:
            m = FENCE.match(line)
            if m:
                cur = {"fence": m.group(1), "lang": m.group(2).lower(), "body": []}
            continue
        if re.match(r"^[ \t]*(`{3,}|~{3,})\s*$", line) and line.strip()[0] == cur["fence"][0]:
            blocks.append((cur["lang"], "\n".join(cur["body"]), True))
            cur = None
        else:
            cur["body"].append(line)
    pool = [b for b in blocks if b[0] in ("python", "py", "python3", "")]
    pool = [b for b in pool if re.search(r"^\s*def\s+attention\s*\(", b[1], re.M)]
    if not pool:
        return None
    longest = max(len(b[1].strip()) for b in pool)
    return [b for b in pool if 2 * len(b[1].strip()) >= longest][-1][1] + "\n"
