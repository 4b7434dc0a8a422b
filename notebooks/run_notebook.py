"""Executes a Jupyter notebook in place without Jupyter: the code cells in order, in one namespace, with
their outputs stored the way nbformat 4 stores them (stdout as a stream, the last expression as an
execute_result with text/plain and, for DataFrames, text/html, every matplotlib figure a cell leaves
open as a PNG display_data; an exception as an error output, after which it stops). The GPU machine
has pandas, pyarrow and matplotlib but no Jupyter; where Jupyter is installed,
`jupyter nbconvert --to notebook --execute --inplace NOTEBOOK` does the same.

  python notebooks/run_notebook.py notebooks/analyze_run.ipynb      # from the repository root
"""
import ast
import base64
import contextlib
import io
import json
import os
import sys
import traceback

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def lines(text):
    """nbformat's multi-line string: a list of lines, each with its newline but the last."""
    parts = text.splitlines(keepends=True)
    return parts if parts else [""]


def rich(value):
    data = {"text/plain": lines(repr(value))}
    html = getattr(value, "_repr_html_", None)
    if callable(html):
        h = html()
        if h:
            data["text/html"] = lines(h)
    return data


def figures():
    out = []
    for n in plt.get_fignums():
        buf = io.BytesIO()
        plt.figure(n).savefig(buf, format="png", dpi=80, bbox_inches="tight")
        out.append({"output_type": "display_data", "metadata": {},
                    "data": {"image/png": base64.b64encode(buf.getvalue()).decode("ascii"), "text/plain": ["<Figure>"]}})
    plt.close("all")
    return out


def run_cell(source, env, count):
    outputs = []
    stdout = io.StringIO()
    tree = ast.parse(source)
    last = tree.body.pop() if tree.body and isinstance(tree.body[-1], ast.Expr) else None
    try:
        with contextlib.redirect_stdout(stdout):
            exec(compile(tree, f"<cell {count}>", "exec"), env)
            value = eval(compile(ast.Expression(last.value), f"<cell {count}>", "eval"), env) if last else None
    except Exception as e:  # the notebook shows it, as Jupyter would, and the run stops
        if stdout.getvalue():
            outputs.append({"output_type": "stream", "name": "stdout", "text": lines(stdout.getvalue())})
        outputs.append({"output_type": "error", "ename": type(e).__name__, "evalue": str(e),
                        "traceback": traceback.format_exception(e)})
        return outputs, False
    if stdout.getvalue():
        outputs.append({"output_type": "stream", "name": "stdout", "text": lines(stdout.getvalue())})
    outputs.extend(figures())
    if value is not None:
        outputs.append({"output_type": "execute_result", "execution_count": count, "metadata": {},
                        "data": rich(value)})
    return outputs, True


def main(path):
    with open(path, encoding="utf-8") as f:
        nb = json.load(f)
    env = {"__name__": "__main__"}
    here = os.getcwd()
    os.chdir(os.path.dirname(os.path.abspath(path)))  # relative paths as Jupyter resolves them
    count = 0
    ok = True
    try:
        for cell in nb["cells"]:
            if cell["cell_type"] != "code":
                continue
            if not ok:
                cell["outputs"], cell["execution_count"] = [], None
                continue
            count += 1
            cell["outputs"], ok = run_cell("".join(cell["source"]), env, count)
            cell["execution_count"] = count
    finally:
        os.chdir(here)
    with open(path, "w", encoding="utf-8") as f:
        json.dump(nb, f, indent=1, ensure_ascii=False)
        f.write("\n")
    if not ok:
        sys.exit(f"{path}: a cell failed; its error is stored in the notebook")


if __name__ == "__main__":
    main(sys.argv[1])
