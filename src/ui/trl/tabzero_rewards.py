# ---- TabZero's reward rules in Python (src/core/rewards/extract.ts, builtin.ts, tasks/countdown.ts) ----
# The same answer reading, format rule and countdown check as the page, so a run here is scored as it was there.
import math
import re

# JavaScript's whitespace (String.prototype.trim and \s); Python's own set differs at the edges.
JS_WS = "\t\n\v\f\r \u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000\ufeff"
WS = "[" + JS_WS + "]"
MISSING = object()  # JavaScript's undefined where it differs from null


def js_trim(s):
    return s.strip(JS_WS)


_ANSWER_RE = re.compile(r"<answer>([\s\S]*?)</answer>")
_NUMBER_IN_TEXT = re.compile(r"[-+]?[0-9][0-9,]*(?:\.[0-9]+)?")


def extract_tagged_answer(text):
    """The content of the last complete <answer> block: MISSING if there is none, None if it is empty."""
    last = MISSING
    for m in _ANSWER_RE.finditer(text):
        last = m.group(1)
    if last is MISSING:
        return MISSING
    # A block that contains another opening tag was two answers with one close: keep the inner one.
    k = last.rfind("<answer>")
    t = js_trim(last if k < 0 else last[k + len("<answer>"):])
    return None if t == "" else t


def extract_answer(text):
    """The last <answer> block; without one, the last number in the text; None when there is neither."""
    tagged = extract_tagged_answer(text)
    if tagged is not MISSING:
        return tagged
    nums = _NUMBER_IN_TEXT.findall(text)
    if not nums:
        return None
    return re.sub(r",+\Z", "", nums[-1])


def parse_number(text):
    """A number from answer text: " 42 ", "42.0", "1,000", "$5", "5.", "50%", "-3", "1/2", "\\frac{1}{2}"; None otherwise."""
    t = js_trim(text)
    t = re.sub(r"\A\$" + WS + "*", "", t, count=1)
    t = re.sub(WS + r"*%\Z", "", t, count=1)
    t = re.sub(r"\.\Z", "", t, count=1)
    t = js_trim(t)
    m = re.match(r"([-+]?)\\[dt]?frac\{([^{}]+)\}\{([^{}]+)\}\Z", t)
    if m:
        t = m.group(1) + m.group(2) + "/" + m.group(3)
    m = re.match(r"([-+]?[0-9,]*\.?[0-9]+)" + WS + r"*/" + WS + r"*([0-9,]*\.?[0-9]+)\Z", t)
    if m:
        a = parse_number(m.group(1))
        b = parse_number(m.group(2))
        return None if a is None or b is None or b == 0 else a / b
    if re.match(r"[-+]?[0-9]{1,3}(,[0-9]{3})+(\.[0-9]+)?\Z", t):
        t = t.replace(",", "")
    if not re.match(r"[-+]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][-+]?[0-9]+)?\Z", t):
        return None
    v = float(t)
    return v if math.isfinite(v) else None


def answers_match(pred, gold):
    """Numbers compare as numbers (relative tolerance 1e-6); other answers as trimmed, lower-cased text."""
    if pred is None or pred is MISSING:
        return False
    a = parse_number(pred)
    b = parse_number(gold)
    if a is not None and b is not None:
        return abs(a - b) <= 1e-6 * max(1.0, abs(b))
    if a is not None or b is not None:
        return False

    def norm(s):
        return re.sub(WS + "+", " ", js_trim(s)).lower()

    return norm(pred) != "" and norm(pred) == norm(gold)


# Our prompt already ends with <think>, so a completion starts inside the reasoning: the opening tag is optional.
_EOS_TEXT = r"(?:<\|[a-z_]+\|>|</s>|<eos>|<end_of_turn>)"
_FORMAT_RE = re.compile(
    r"\A" + WS + r"*(?:<think>)?((?:(?!</?think>|</?answer>)[\s\S])*)</think>" + WS + r"*<answer>((?:(?!</?answer>|</?think>)[\s\S])*)</answer>(?:" + WS + "*" + _EOS_TEXT + ")*" + WS + r"*\Z"
)


def is_well_formatted(text):
    m = _FORMAT_RE.match(text)
    return m is not None and js_trim(m.group(2)) != ""


class ArithError(Exception):
    pass


def parse_expression(text):
    """Numbers, + - * /, parentheses and unary minus; returns (value, numbers in the order written)."""
    toks = []
    i = 0
    while i < len(text):
        c = text[i]
        if c in JS_WS:
            i += 1
        elif c in "0123456789.":
            m = re.match(r"[0-9]+(\.[0-9]+)?", text[i:])
            if not m:
                raise ArithError("malformed number")
            toks.append(("num", float(m.group(0))))
            i += len(m.group(0))
        elif c in "+-*/()":
            toks.append(("op", c))
            i += 1
        elif c in "\u00d7\u00f7":
            toks.append(("op", "*" if c == "\u00d7" else "/"))
            i += 1
        else:
            raise ArithError("unexpected character")
    pos = [0]
    numbers = []

    def is_op(v):
        return pos[0] < len(toks) and toks[pos[0]] == ("op", v)

    def expr():
        v = term()
        while is_op("+") or is_op("-"):
            op = toks[pos[0]][1]
            pos[0] += 1
            r = term()
            v = v + r if op == "+" else v - r
        return v

    def term():
        v = factor()
        while is_op("*") or is_op("/"):
            op = toks[pos[0]][1]
            pos[0] += 1
            r = factor()
            if op == "/":
                if r == 0:
                    raise ArithError("division by zero")
                v = v / r
            else:
                v = v * r
        return v

    def factor():
        if pos[0] >= len(toks):
            raise ArithError("ends early")
        kind, val = toks[pos[0]]
        if kind == "num":
            pos[0] += 1
            numbers.append(val)
            return val
        if val == "(":
            pos[0] += 1
            v = expr()
            if not is_op(")"):
                raise ArithError("missing )")
            pos[0] += 1
            return v
        if val == "-":
            pos[0] += 1
            return -factor()
        raise ArithError("unexpected operator")

    value = expr()
    if pos[0] != len(toks):
        raise ArithError("trailing input")
    return value, numbers


def check_countdown(equation, numbers, target):
    """An equation ("expr" or "expr = target") that uses each given number once and equals the target."""
    text = js_trim(equation)
    parts = text.split("=")
    if len(parts) > 2:
        return False
    if len(parts) == 2:
        rhs = js_trim(parts[1])
        if rhs != "" and js_to_number(rhs) != target:
            return False
        text = parts[0]
    try:
        value, used = parse_expression(text)
    except ArithError:
        return False
    if sorted(used) != sorted(float(n) for n in numbers):
        return False
    return abs(value - target) <= 1e-6


def countdown_meta(row):
    meta = row.get("meta")
    if not isinstance(meta, dict):
        return None
    numbers, target = meta.get("numbers"), meta.get("target")
    if isinstance(numbers, list) and all(isinstance(n, (int, float)) and not isinstance(n, bool) for n in numbers) and isinstance(target, (int, float)):
        return numbers, target
    return None


def is_correct(text, row):
    meta = countdown_meta(row)
    if meta is not None and row.get("task") == "countdown":
        # An equation cannot be recovered from "the last number", so Countdown needs the tags.
        eq = extract_tagged_answer(text)
        return isinstance(eq, str) and check_countdown(eq, meta[0], meta[1])
    return answers_match(extract_answer(text), str(row.get("answer")))


def completion_text(c):
    """TRL hands plain-text completions as strings and conversational ones as message lists."""
    return c if isinstance(c, str) else c[-1]["content"]


PROBLEM_COLUMNS = ("id", "task", "question", "answer", "plan", "knowledge", "subproblems", "solution", "difficulty", "meta")


def problem_rows(n, kwargs):
    """The problem of each completion as TabZero's reward functions see it, from the dataset columns TRL passes."""
    rows = []
    for i in range(n):
        row = {k: kwargs[k][i] for k in PROBLEM_COLUMNS if k in kwargs and kwargs[k] is not None}
        row = {k: v for k, v in row.items() if v is not None}
        # The dataset's answer has thousands separators removed; TabZero's rewards saw it as written.
        original = kwargs.get("tabzero_answer")
        if original is not None and original[i] is not None:
            row["answer"] = original[i]
        rows.append(row)
    return rows


def correctness_reward(completions, **kwargs):
    """1 if the answer is right, else 0."""
    rows = problem_rows(len(completions), kwargs)
    return [1.0 if is_correct(completion_text(c), r) else 0.0 for c, r in zip(completions, rows)]


def format_reward(completions, **kwargs):
    """1 if the completion is reasoning, </think>, then one non-empty <answer>...</answer> and nothing else."""
    return [1.0 if is_well_formatted(completion_text(c)) else 0.0 for c in completions]


_IDK_RE = re.compile(r"\b(?:i\s+(?:do\s*n[o']?t|don[’']t|cannot|can[’']t|can\s*not)\s+know|unknown|not\s+sure|cannot\s+be\s+determined|no\s+answer)\b", re.I)


def says_i_dont_know(text):
    """The last <answer> block says it does not know; or, with no answer block, the text does and gives no number."""
    tagged = extract_tagged_answer(text)
    if isinstance(tagged, str):
        return _IDK_RE.search(tagged) is not None
    if tagged is None:
        return False
    return extract_answer(text) is None and _IDK_RE.search(text) is not None


def hierarchical_reward(completions, **kwargs):
    """SPARKLE: -1 wrong, 0 for an answer that says it does not know, +1 right with bad format, +2 right with good format."""
    rows = problem_rows(len(completions), kwargs)
    out = []
    for c, r in zip(completions, rows):
        text = completion_text(c)
        if not is_correct(text, r):
            out.append(0.0 if says_i_dont_know(text) else -1.0)
        else:
            out.append(2.0 if is_well_formatted(text) else 1.0)
    return out


# ---- JavaScript semantics for translated reward functions ----
_JS_NUMBER_RE = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?\Z")


def js_to_number(x):
    if x is None:
        return 0.0
    if x is MISSING:
        return float("nan")
    if isinstance(x, bool):
        return 1.0 if x else 0.0
    if isinstance(x, (int, float)):
        return float(x)
    if isinstance(x, str):
        t = js_trim(x)
        if t == "":
            return 0.0
        if re.match(r"0[xX][0-9a-fA-F]+\Z", t):
            return float(int(t, 16))
        if re.match(r"0[oO][0-7]+\Z", t):
            return float(int(t[2:], 8))
        if re.match(r"0[bB][01]+\Z", t):
            return float(int(t[2:], 2))
        if t in ("Infinity", "+Infinity"):
            return float("inf")
        if t == "-Infinity":
            return float("-inf")
        return float(t) if _JS_NUMBER_RE.match(t) else float("nan")
    if isinstance(x, list):
        return js_to_number(js_to_string(x)) if len(x) <= 1 else float("nan")
    return float("nan")


def js_to_string(x):
    if x is None:
        return "null"
    if x is MISSING:
        return "undefined"
    if isinstance(x, bool):
        return "true" if x else "false"
    if isinstance(x, (int, float)):
        v = float(x)
        if math.isnan(v):
            return "NaN"
        if math.isinf(v):
            return "Infinity" if v > 0 else "-Infinity"
        if v == int(v) and abs(v) < 1e21:
            return str(int(v))
        return repr(v)
    if isinstance(x, list):
        return ",".join("" if e is None or e is MISSING else js_to_string(e) for e in x)
    return str(x)


def truthy(x):
    if x is None or x is MISSING or x is False:
        return False
    if isinstance(x, (int, float)) and not isinstance(x, bool):
        return x != 0 and not math.isnan(x)
    if isinstance(x, str):
        return x != ""
    return True


def js_and(a, rest):
    return rest() if truthy(a) else a


def js_or(a, rest):
    return a if truthy(a) else rest()


def _kind(x):
    if x is None:
        return "null"
    if x is MISSING:
        return "undefined"
    if isinstance(x, bool):
        return "boolean"
    if isinstance(x, (int, float)):
        return "number"
    if isinstance(x, str):
        return "string"
    return "object"


def js_strict_eq(a, b):
    ka, kb = _kind(a), _kind(b)
    if ka != kb:
        return False
    if ka == "number":
        return float(a) == float(b)
    if ka == "object":
        return a is b
    return a == b


def js_loose_eq(a, b):
    ka, kb = _kind(a), _kind(b)
    if ka == kb:
        return js_strict_eq(a, b)
    if {ka, kb} <= {"null", "undefined"}:
        return True
    if "null" in (ka, kb) or "undefined" in (ka, kb):
        return False
    if ka == "object" or kb == "object":
        return js_loose_eq(js_to_string(a) if ka == "object" else a, js_to_string(b) if kb == "object" else b)
    return js_to_number(a) == js_to_number(b)


def js_add(a, b):
    if isinstance(a, (str, list)) or isinstance(b, (str, list)):
        return js_to_string(a) + js_to_string(b)
    return js_to_number(a) + js_to_number(b)


def js_arith(op, a, b):
    x, y = js_to_number(a), js_to_number(b)
    if op == "-":
        return x - y
    if op == "*":
        return x * y
    if op == "/":
        if y == 0:
            if x == 0 or math.isnan(x):
                return float("nan")
            return math.copysign(float("inf"), x) * math.copysign(1.0, y)
        return x / y
    if op == "%":
        if y == 0 or math.isinf(x) or math.isnan(x) or math.isnan(y):
            return float("nan")
        return math.fmod(x, y)
    raise ValueError(op)


def js_compare(op, a, b):
    if isinstance(a, str) and isinstance(b, str):
        x, y = a, b
    else:
        x, y = js_to_number(a), js_to_number(b)
        if math.isnan(x) or math.isnan(y):
            return False
    return {"<": x < y, ">": x > y, "<=": x <= y, ">=": x >= y}[op]


class JsRegExp:
    """A JavaScript regular expression, already translated to Python's syntax when the script was written."""

    def __init__(self, pattern, flags, is_global):
        self.re = re.compile(pattern, flags)
        self.is_global = is_global

    def exec(self, s):
        m = self.re.search(js_to_string(s))
        if m is None:
            return None
        return JsMatch(m)

    def test(self, s):
        return self.re.search(js_to_string(s)) is not None


class JsMatch(list):
    """A match array: [whole, group 1, ...] with undefined groups as MISSING, plus .index."""

    def __init__(self, m):
        super().__init__([m.group(0)] + [MISSING if g is None else g for g in m.groups()])
        self.index = m.start()
        named = m.groupdict()
        self.named = {k: (MISSING if v is None else v) for k, v in named.items()} if named else MISSING


def js_get(obj, key):
    if isinstance(key, float) and key == int(key):
        key = int(key)
    if isinstance(obj, (str, list)):
        if key == "length":
            # JavaScript counts UTF-16 code units: an emoji is 2.
            return len(obj.encode("utf-16-le")) // 2 if isinstance(obj, str) else len(obj)
        if isinstance(obj, JsMatch) and key == "index":
            return obj.index
        if isinstance(obj, JsMatch) and key == "groups":
            return obj.named
        if isinstance(key, int):
            return obj[key] if 0 <= key < len(obj) else MISSING
        if isinstance(key, str) and re.match(r"[0-9]+\Z", key):
            return js_get(obj, int(key))
        return MISSING
    if isinstance(obj, dict):
        k = key if isinstance(key, str) else js_to_string(key)
        return obj[k] if k in obj else MISSING
    if obj is None or obj is MISSING:
        raise TypeError("Cannot read properties of %s (reading '%s')" % (js_to_string(obj), key))
    return MISSING


def _js_index(i, n):
    i = int(js_to_number(i)) if i is not MISSING else 0
    return max(0, n + i) if i < 0 else min(i, n)


def js_call(obj, name, *args):
    """A method call on a string, array, number or regular expression, with JavaScript's meaning."""
    if isinstance(obj, str):
        if name == "trim":
            return js_trim(obj)
        if name == "trimStart":
            return obj.lstrip(JS_WS)
        if name == "trimEnd":
            return obj.rstrip(JS_WS)
        if name == "toLowerCase":
            return obj.lower()
        if name == "toUpperCase":
            return obj.upper()
        if name == "includes":
            return js_to_string(args[0]) in obj
        if name == "startsWith":
            return obj.startswith(js_to_string(args[0]))
        if name == "endsWith":
            return obj.endswith(js_to_string(args[0]))
        if name == "indexOf":
            return obj.find(js_to_string(args[0]))
        if name == "lastIndexOf":
            return obj.rfind(js_to_string(args[0]))
        if name == "split":
            if isinstance(args[0], JsRegExp):
                return args[0].re.split(obj)
            sep = js_to_string(args[0])
            return list(obj) if sep == "" else obj.split(sep)
        if name in ("slice", "substring"):
            n = len(obj)
            a = _js_index(args[0] if args else 0, n)
            b = _js_index(args[1], n) if len(args) > 1 else n
            if name == "substring" and a > b:
                a, b = b, a
            return obj[a:b]
        if name == "charAt":
            i = int(js_to_number(args[0])) if args else 0
            return obj[i] if 0 <= i < len(obj) else ""
        if name == "match":
            rx = args[0]
            if not isinstance(rx, JsRegExp):
                raise TypeError("match() with a string pattern is not translated")
            if rx.is_global:
                found = [m.group(0) for m in rx.re.finditer(obj)]
                return found if found else None
            return rx.exec(obj)
        if name == "replace" or name == "replaceAll":
            pat, rep = args[0], js_to_string(args[1])
            if isinstance(pat, JsRegExp):
                return pat.re.sub(lambda m: rep, obj, count=0 if (pat.is_global or name == "replaceAll") else 1)
            return obj.replace(js_to_string(pat), rep, -1 if name == "replaceAll" else 1)
        if name == "search":
            m = args[0].re.search(obj)
            return -1 if m is None else m.start()
    if isinstance(obj, JsRegExp):
        if name == "test":
            return obj.test(args[0])
        if name == "exec":
            return obj.exec(args[0])
    if isinstance(obj, list):
        if name == "includes":
            return any(js_strict_eq(e, args[0]) or (_kind(e) == "number" and _kind(args[0]) == "number" and math.isnan(e) and math.isnan(args[0])) for e in obj)
        if name == "indexOf":
            return next((i for i, e in enumerate(obj) if js_strict_eq(e, args[0])), -1)
        if name == "join":
            sep = "," if not args else js_to_string(args[0])
            return sep.join("" if e is None or e is MISSING else js_to_string(e) for e in obj)
        if name == "slice":
            n = len(obj)
            a = _js_index(args[0] if args else 0, n)
            b = _js_index(args[1], n) if len(args) > 1 else n
            return obj[a:b]
    if isinstance(obj, (int, float)) and not isinstance(obj, bool) and name == "toFixed":
        return "%.*f" % (int(js_to_number(args[0])) if args else 0, obj)
    raise TypeError("%s is not a function here (the translation covers common string, array and regex methods)" % name)


def js_parse_float(x):
    m = re.match(WS + r"*([+-]?(?:Infinity|[0-9]+\.?[0-9]*(?:[eE][+-]?[0-9]+)?|\.[0-9]+(?:[eE][+-]?[0-9]+)?))", js_to_string(x))
    if not m:
        return float("nan")
    t = m.group(1)
    return float(t.replace("Infinity", "inf"))


def js_parse_int(x, radix=MISSING):
    s = js_trim(js_to_string(x))
    r = 10 if radix is MISSING else int(js_to_number(radix))
    sign = -1 if s.startswith("-") else 1
    s = s[1:] if s[:1] in "+-" and s else s
    if (r in (0, 16)) and s[:2].lower() == "0x":
        s, r = s[2:], 16
    if r == 0:
        r = 10
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"[:r]
    n = 0
    while n < len(s) and s[n].lower() in digits:
        n += 1
    return float("nan") if n == 0 else float(sign * int(s[:n], r))


def js_round(x):
    v = js_to_number(x)
    return v if math.isnan(v) or math.isinf(v) else float(math.floor(v + 0.5))


def js_math(name, *args):
    xs = [js_to_number(a) for a in args]
    if name == "abs":
        return abs(xs[0])
    if name == "min":
        return float("nan") if any(math.isnan(v) for v in xs) else min(xs, default=float("inf"))
    if name == "max":
        return float("nan") if any(math.isnan(v) for v in xs) else max(xs, default=float("-inf"))
    if name == "floor":
        return float(math.floor(xs[0])) if math.isfinite(xs[0]) else xs[0]
    if name == "ceil":
        return float(math.ceil(xs[0])) if math.isfinite(xs[0]) else xs[0]
    if name == "round":
        return js_round(xs[0])
    if name == "sqrt":
        return math.sqrt(xs[0]) if xs[0] >= 0 else float("nan")
    if name == "pow":
        try:
            return math.pow(xs[0], xs[1])
        except (OverflowError, ValueError):
            return float("nan")
    if name == "exp":
        return math.exp(xs[0])
    if name == "log":
        return math.log(xs[0]) if xs[0] > 0 else (float("-inf") if xs[0] == 0 else float("nan"))
    if name == "sign":
        return xs[0] if xs[0] == 0 or math.isnan(xs[0]) else math.copysign(1.0, xs[0])
    raise TypeError("Math.%s is not translated" % name)


def js_reward_value(name, v, index):
    """A reward is a finite number or null (not applicable); anything else is an error, as in the page."""
    if v is None:
        return None
    if v is MISSING:
        raise TypeError("%s returned undefined for completion %d (is a `return` missing?)" % (name, index))
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise TypeError("%s returned a %s for completion %d; it must return a number, or null when it does not apply" % (name, _kind(v), index))
    if not math.isfinite(v):
        raise ValueError("%s returned %r for completion %d; rewards must be finite numbers" % (name, v, index))
    return float(v)
