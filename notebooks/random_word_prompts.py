"""Prompts for the random tiny block model's bench (docs/results.md, "The decoders on a block model"):
N lines of JSON {"id", "prompt"}, each prompt 5-30 random words w4..w255 drawn with random.Random(seed).

    python notebooks/random_word_prompts.py OUT.jsonl [--n 64] [--seed 5]
"""
import argparse
import json
import random


def main():
    p = argparse.ArgumentParser()
    p.add_argument("out")
    p.add_argument("--n", type=int, default=64)
    p.add_argument("--seed", type=int, default=5)
    a = p.parse_args()
    rng = random.Random(a.seed)
    with open(a.out, "w") as f:
        for i in range(a.n):
            words = " ".join("w%d" % rng.randint(4, 255) for _ in range(rng.randint(5, 30)))
            f.write(json.dumps({"id": "p%d" % i, "prompt": words}) + "\n")


if __name__ == "__main__":
    main()
