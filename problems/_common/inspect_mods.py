"""Reads a user's FlexAttention score_mod/mask_mod files with `ast` (never executes them) for `kforge problems new`.

Job on stdin: {"files": [{"path": ..., "kind": "score" | "mask"}]}. Prints one JSON object:
{"errors": [{"file", "line", "message"}], "mods": {kind: {"file", "name", "source", "docstring"}},
 "params": {name: number | generator}, "features": [...]}.

The mod bodies must stay in a subset that a translator can turn into Triton: assignments to local
names and one final `return`; arithmetic (+ - * / // %, ** by 1..4), comparisons, & | ~; calls to SUPPORTED_CALLS; indexing a
captured generator tensor (module-level `NAME = "alibi"` or `"random_docs(N)"`). Module-level
numeric constants used by the mods become the problem's params.
"""
import ast
import json
import re
import sys

# Kept within what tools/offline/translate.py turns into Triton (the offline template).
SUPPORTED_CALLS = ("where", "tanh", "exp", "log", "abs", "minimum", "maximum")
BIN_OPS = (ast.Add, ast.Sub, ast.Mult, ast.Div, ast.FloorDiv, ast.Mod, ast.BitAnd, ast.BitOr)
CMP_OPS = (ast.Lt, ast.LtE, ast.Gt, ast.GtE, ast.Eq, ast.NotEq)
ORDER_OPS = (ast.Lt, ast.LtE, ast.Gt, ast.GtE)
ARGS = {"score": ("score", "b", "h", "q", "kv"), "mask": ("b", "h", "q", "kv")}
SIGNATURE = {"score": "score_mod(score, b, h, q_idx, kv_idx)", "mask": "mask_mod(b, h, q_idx, kv_idx)"}
RESERVED = {"q", "k", "v", "scale"}
GENERATOR = re.compile(r"^(alibi|random_docs\(\d+\))$")
HINTS = {
    ast.If: "`if` statement: use torch.where(cond, a, b)",
    ast.IfExp: "`a if c else b`: use torch.where(c, a, b)",
    ast.BoolOp: "`and`/`or` on tensors: use & and | with parentheses",
    ast.For: "`for` loop: express it with tensor arithmetic",
    ast.While: "`while` loop: express it with tensor arithmetic",
    ast.Lambda: "lambda: inline the expression",
    ast.AugAssign: "augmented assignment (x += ...): write x = x + ...",
    ast.ListComp: "list comprehension: not supported",
    ast.FunctionDef: "nested function: inline it",
    ast.Return: "`return` before the end: compute both values and pick with torch.where",
    ast.Attribute: "attribute access (x.attr): not supported",
}


class Reject(Exception):
    def __init__(self, node, message):
        super().__init__(message)
        self.line = getattr(node, "lineno", None)


def main():
    job = json.load(sys.stdin)
    out = {"errors": [], "mods": {}, "params": {}, "features": []}
    for item in job["files"]:
        path, kind = item["path"], item["kind"]
        try:
            inspect_file(path, kind, out)
        except Reject as err:
            out["errors"].append({"file": path, "line": err.line, "message": str(err)})
        except OSError as err:
            out["errors"].append({"file": path, "line": None, "message": f"cannot read it ({err.strerror})"})
    out["features"] = sorted(set(out["features"]))
    print(json.dumps(out))


def inspect_file(path, kind, out):
    with open(path, encoding="utf-8") as f:
        src = f.read()
    try:
        tree = ast.parse(src, filename=path)
    except SyntaxError as err:
        raise Reject(err, f"Python syntax error: {err.msg}") from None
    fn = find_mod(tree, kind)
    check_signature(fn, kind)
    constants = module_constants(tree)
    checker = BodyChecker(fn, kind, constants)
    checker.run()
    for name in checker.captured:
        value = constants[name]
        if isinstance(value, ast.AST):
            raise Reject(value, f"{fn.name} captures `{name}`, computed at module level; only literal numbers "
                         'and generators (NAME = "alibi" or "random_docs(N)") can be captured')
        if name in RESERVED:
            raise Reject(fn, f"module constant `{name}` clashes with an argument of attention(); rename it")
        if name in out["params"] and out["params"][name] != value:
            raise Reject(fn, f"`{name}` has different values in the score_mod and mask_mod files")
        out["params"][name] = value
    out["features"] += checker.features
    out["mods"][kind] = {"file": path, "name": fn.name, "source": ast.get_source_segment(src, fn), "docstring": ast.get_docstring(fn)}


def find_mod(tree, kind):
    """The def named score_mod/mask_mod, else the only top-level def with the right number of arguments."""
    wanted = f"{kind}_mod"
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == wanted for t in node.targets):
            if isinstance(node.value, ast.Lambda):
                raise Reject(node, f"{wanted} is a lambda; write it as `def {SIGNATURE[kind]}:`")
    defs = [n for n in tree.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))]
    named = [n for n in defs if n.name == wanted]
    if named:
        return named[0]
    fits = [n for n in defs if len(n.args.args) == len(ARGS[kind])]
    if len(fits) == 1:
        return fits[0]
    if not fits:
        found = ", ".join(f"{n.name} ({len(n.args.args)} args)" for n in defs) or "no functions"
        raise Reject(None, f"no {kind}_mod found (found {found}); define `def {SIGNATURE[kind]}:`")
    raise Reject(fits[1], f"several functions could be the {kind}_mod ({', '.join(n.name for n in fits)}); name the one to use `{wanted}`")


def check_signature(fn, kind):
    a = fn.args
    if isinstance(fn, ast.AsyncFunctionDef):
        raise Reject(fn, f"{fn.name} is async; a {kind}_mod is a plain def")
    if fn.decorator_list:
        raise Reject(fn, f"{fn.name} has decorators; remove them")
    if a.vararg or a.kwarg or a.kwonlyargs or a.defaults or getattr(a, "posonlyargs", []):
        raise Reject(fn, f"{fn.name} must take exactly the positional arguments {SIGNATURE[kind]} (no defaults, *args or **kwargs)")
    if len(a.args) != len(ARGS[kind]):
        raise Reject(fn, f"{fn.name} takes {len(a.args)} arguments; a FlexAttention {kind}_mod takes {len(ARGS[kind])}: {SIGNATURE[kind]}")


def module_constants(tree):
    """Module-level NAME = literal (number or generator string); any other assignment maps to its node."""
    consts = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            consts[node.targets[0].id] = literal(node.value)
    return consts


def literal(node):
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        inner = literal(node.operand)
        return -inner if isinstance(inner, (int, float)) else node
    if isinstance(node, ast.Constant):
        if isinstance(node.value, (int, float)) and not isinstance(node.value, bool):
            return node.value
        if isinstance(node.value, str) and GENERATOR.match(node.value):
            return node.value
    return node


class BodyChecker:
    """Walks one mod body: rejects what the Triton subset lacks, tracks what each value depends on."""

    def __init__(self, fn, kind, constants):
        self.fn, self.kind, self.constants = fn, kind, constants
        self.env = {arg.arg: {role} for arg, role in zip(fn.args.args, ARGS[kind])}
        self.captured, self.features = [], []

    def run(self):
        body = self.fn.body
        if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) and isinstance(body[0].value.value, str):
            body = body[1:]
        if not body or not isinstance(body[-1], ast.Return) or body[-1].value is None:
            raise Reject(self.fn, f"{self.fn.name} must end with `return <expression>`")
        for stmt in body[:-1]:
            if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1:
                self.assign(stmt.targets[0], stmt.value)
            else:
                raise Reject(stmt, self.unsupported(stmt))
        result = self.expr(body[-1].value)
        if self.kind == "score" and "score" not in result:
            self.features.append("score_ignored")

    def assign(self, target, value):
        if isinstance(target, ast.Name):
            self.env[target.id] = self.expr(value)
        elif isinstance(target, ast.Tuple) and isinstance(value, ast.Tuple) and len(target.elts) == len(value.elts):
            deps = [self.expr(v) for v in value.elts]
            for t, d in zip(target.elts, deps):
                self.assign_name(t, d)
        else:
            raise Reject(target, "assign to plain local names only (or a, b = x, y)")

    def assign_name(self, target, deps):
        if not isinstance(target, ast.Name):
            raise Reject(target, "assign to plain local names only")
        self.env[target.id] = deps

    def expr(self, node):
        """Returns the set of roles the value depends on: score, b, h, q, kv, param, dist."""
        if isinstance(node, ast.Constant):
            if isinstance(node.value, (int, float)):
                return set()
            raise Reject(node, f"constant {node.value!r}: only numbers and True/False")
        if isinstance(node, ast.Name):
            return self.name(node)
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Pow):
            if not (isinstance(node.right, ast.Constant) and type(node.right.value) is int and 1 <= node.right.value <= 4):
                raise Reject(node, "** is supported only with a literal exponent 1..4 (write x * x ...)")
            return self.expr(node.left)
        if isinstance(node, ast.BinOp) and isinstance(node.op, BIN_OPS):
            left, right = self.expr(node.left), self.expr(node.right)
            deps = left | right
            if isinstance(node.op, ast.Sub) and {"q", "kv"} <= deps and not ({"q", "kv"} <= left) and not ({"q", "kv"} <= right):
                deps = deps | {"dist"}
            if isinstance(node.op, (ast.FloorDiv, ast.Mod)) and left & {"q", "kv"}:
                self.features.append("grid")
            if isinstance(node.op, (ast.Add, ast.Sub)) and self.kind == "score" and (("score" in left) != ("score" in right)):
                self.features.append("bias")
                if "dist" in (right if "score" in left else left):
                    self.features.append("relative_bias")
            return deps
        if isinstance(node, ast.UnaryOp):
            if isinstance(node.op, ast.Not):
                raise Reject(node, "`not x` on a tensor: use ~x")
            return self.expr(node.operand)
        if isinstance(node, ast.Compare):
            if len(node.ops) != 1:
                raise Reject(node, "chained comparison (a < b < c): write (a < b) & (b < c)")
            if not isinstance(node.ops[0], CMP_OPS):
                raise Reject(node, "only <, <=, >, >=, ==, != comparisons are supported")
            left, right = self.expr(node.left), self.expr(node.comparators[0])
            self.classify_compare(node.ops[0], left, right)
            return left | right
        if isinstance(node, ast.Call):
            return self.call(node)
        if isinstance(node, ast.Subscript):
            return self.subscript(node)
        raise Reject(node, self.unsupported(node))

    def name(self, node):
        if node.id in self.env:
            return self.env[node.id]
        if node.id in self.constants:
            if node.id not in self.captured:
                self.captured.append(node.id)
            value = self.constants[node.id]
            if isinstance(value, str):
                self.features.append("alibi" if value == "alibi" else "documents")
            return {"param"}
        raise Reject(node, f"`{node.id}` is not an argument, a local, or a module-level constant; "
                     f"define it at module level as a number (it becomes a problem param) or inline it")

    def call(self, node):
        f = node.func
        if not (isinstance(f, ast.Attribute) and isinstance(f.value, ast.Name) and f.value.id == "torch"):
            what = ast.unparse(f) if hasattr(ast, "unparse") else "this function"
            hint = " (write torch.abs(x) instead of x.abs())" if isinstance(f, ast.Attribute) else ""
            raise Reject(node, f"call to `{what}`: only torch.{{{', '.join(SUPPORTED_CALLS)}}} are supported{hint}")
        if f.attr not in SUPPORTED_CALLS:
            raise Reject(node, f"torch.{f.attr} is not supported; use one of torch.{{{', '.join(SUPPORTED_CALLS)}}}")
        if node.keywords:
            raise Reject(node, f"torch.{f.attr}: pass positional arguments only")
        deps = set()
        for arg in node.args:
            deps |= self.expr(arg)
        if f.attr == "tanh":
            self.features.append("tanh")
        return deps

    def subscript(self, node):
        if not (isinstance(node.value, ast.Name) and isinstance(self.constants.get(node.value.id), str)):
            raise Reject(node, 'only captured generator tensors can be indexed (module-level NAME = "alibi" or "random_docs(N)")')
        base = self.name(node.value)
        index = node.slice.value if isinstance(node.slice, ast.Index) else node.slice  # ast.Index: Python < 3.9
        if isinstance(index, ast.Tuple):
            raise Reject(node, f"multi-dimensional indexing of `{node.value.id}`: captured tensors are 1-D")
        return (base | self.expr(index)) - {"dist"}

    def classify_compare(self, op, left, right):
        only_q = lambda d: "q" in d and "kv" not in d  # noqa: E731
        only_kv = lambda d: "kv" in d and "q" not in d  # noqa: E731
        if "dist" in left or "dist" in right:
            self.features.append("distance_compare")
        elif isinstance(op, ORDER_OPS) and ((only_q(left) and only_kv(right)) or (only_kv(left) and only_q(right))):
            self.features.append("causal_compare")
        elif isinstance(op, ast.Eq) and ((only_q(left) and only_kv(right)) or (only_kv(left) and only_q(right))):
            self.features.append("equal_compare")
        elif isinstance(op, ORDER_OPS) and ((only_kv(left) and not right) or (only_kv(right) and not left) or
                                            (only_kv(left) and right == {"param"}) or (only_kv(right) and left == {"param"})):
            self.features.append("kv_bound")

    def unsupported(self, node):
        for cls, hint in HINTS.items():
            if isinstance(node, cls):
                return f"unsupported construct in {self.fn.name}: {hint}"
        return f"unsupported construct in {self.fn.name}: {type(node).__name__}"


if __name__ == "__main__":
    main()
