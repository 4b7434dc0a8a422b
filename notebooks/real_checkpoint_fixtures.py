"""Reference fixtures for the real-checkpoint paths (tokenizers, chat template, TorchScript), made
with HF tokenizers / transformers / PyTorch so the Java side is checked against the Python stack.

    python notebooks/real_checkpoint_fixtures.py OUT_DIR

Writes OUT_DIR/
  dream-tokenizer/   a small byte-level BPE trained here in Dream's file format (vocab.json, merges.txt,
                     tokenizer_config.json with added_tokens_decoder; no tokenizer.json) and cases.json:
                     [{text, ids}] from transformers' Qwen2Tokenizer on that folder, cross-checked
                     against a plain-Python port of the slow GPT-2/Qwen2 algorithm
  llada-template.json  [{prompt, rendered}] from transformers' apply_chat_template with LLaDA-8B-Instruct's
                     chat_template (read verbatim from its tokenizer_config.json)
  torchscript/{llada,dream}/  tiny random HF folders (config.json, model.safetensors F32), model.pt +
                     freedave-torchscript.json from notebooks/export_torchscript.py, ids.npy + logits.npy
                     of the scripted module, checked against transformers Llama/Qwen2 run bidirectionally
The committed fixtures in udf/src/test/resources/{dream-tokenizer,torchscript} and llada-template.json
were made with torch 2.11, transformers 5.17 on the GPU machine.
"""
import json
import os
import random
import sys
import unicodedata

import numpy as np
import regex
import torch
from safetensors.torch import save_file

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import export_torchscript as ets  # noqa: E402
from hf_reference import llada_state_dict, randomise  # noqa: E402
from hf_reference import logits as hf_logits  # noqa: E402

out = sys.argv[1]
os.makedirs(out, exist_ok=True)
random.seed(7)
torch.manual_seed(7)

# ---------------------------------------------------------------- Dream-format tokenizer
QWEN2_SPLIT = r"""(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"""
DREAM_ADDED = ["<|endoftext|>", "<|im_start|>", "<|im_end|>", "<|object_ref_start|>", "<|object_ref_end|>",
               "<|box_start|>", "<|box_end|>", "<|quad_start|>", "<|quad_end|>", "<|vision_start|>",
               "<|vision_end|>", "<|vision_pad|>", "<|image_pad|>", "<|video_pad|>", "<tool_call>", "</tool_call>",
               "<|fim_prefix|>", "<|fim_middle|>", "<|fim_suffix|>", "<|fim_pad|>", "<|repo_name|>", "<|file_sep|>",
               "<|beginoftext|>", "<|mask|>"]
NOT_SPECIAL = {"<tool_call>", "</tool_call>", "<|fim_prefix|>", "<|fim_middle|>", "<|fim_suffix|>", "<|fim_pad|>",
               "<|repo_name|>", "<|file_sep|>"}

words = ("the of and to in is that it for was on are as with his they at be this have from or one had by word but "
         "not what all were we when your can said there use an each which she do how their if will up other about "
         "out many then them these so some her would make like him into time has look two more write go see number "
         "no way could people my than first water been call who oil its now find long down day did get come made may "
         "part don't I'll you're we've it's they'd HE'LL Can't").split()
alphabets = ["abcdefghijklmnopqrstuvwxyz", "ÀÉÎÕÜàéîõüçñßøæ", "абвгдежзийклмнопрстуф", "αβγδεζηθικλμνξοπ",
             "的一是不了人我在有他这为之大来以个中上们", "あいうえおかきくけこさしすせそ", "가나다라마바사아자차카",
             "ابتثجحخدذرزسشصضطظعغفقكلمنهوي", "😀🎉🚀✨🔥👍🏽🇯🇵❤️", "∀∂∃∅∇∈∉∑√∞≠≤≥⊂⊃"]
corpus = []
for i in range(6000):
    parts = []
    for _ in range(random.randint(3, 14)):
        r = random.random()
        if r < 0.55:
            parts.append(random.choice(words))
        elif r < 0.7:
            parts.append(str(random.randint(0, 99999)))
        elif r < 0.85:
            a = random.choice(alphabets)
            parts.append("".join(random.choice(a) for _ in range(random.randint(1, 6))))
        else:
            parts.append(random.choice(["(x)", "{y}", "[z];", "a=b+c", "f(x, y)", "->", "==", "...", "!?", "#", "\t",
                                        "  ", "\n", "\r\n", "x_1", "def f():", "return 0;", "\u00a0"]))
    corpus.append(" ".join(parts))

from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers  # noqa: E402

tk = Tokenizer(models.BPE())
tk.normalizer = normalizers.NFC()
tk.pre_tokenizer = pre_tokenizers.Sequence([
    pre_tokenizers.Split(Regex(QWEN2_SPLIT), behavior="isolated", invert=False),
    pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)])
tk.decoder = decoders.ByteLevel()
tk.train_from_iterator(corpus, trainers.BpeTrainer(vocab_size=1500, show_progress=False,
                                                    initial_alphabet=pre_tokenizers.ByteLevel.alphabet()))
tdir = os.path.join(out, "dream-tokenizer")
os.makedirs(tdir, exist_ok=True)
tk.model.save(tdir)  # vocab.json + merges.txt ("#version: 0.2" header), as Qwen2/Dream ship them
vocab = json.load(open(os.path.join(tdir, "vocab.json"), encoding="utf-8"))
base = len(vocab)
added = {}
for j, content in enumerate(DREAM_ADDED):
    added[str(base + j)] = {"content": content, "lstrip": False, "normalized": False, "rstrip": False,
                            "single_word": False, "special": content not in NOT_SPECIAL}
json.dump({"add_prefix_space": False, "added_tokens_decoder": added, "bos_token": None,
           "clean_up_tokenization_spaces": False, "eos_token": "<|endoftext|>", "errors": "replace",
           "model_max_length": 131072, "pad_token": "<|endoftext|>", "split_special_tokens": False,
           "tokenizer_class": "Qwen2Tokenizer", "unk_token": None},
          open(os.path.join(tdir, "tokenizer_config.json"), "w", encoding="utf-8"), indent=2, ensure_ascii=False)


def bytes_to_unicode():
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, map(chr, cs)))


BYTE = bytes_to_unicode()
merges = [tuple(l.split()) for i, l in enumerate(open(os.path.join(tdir, "merges.txt"), encoding="utf-8").read().split("\n"))
          if l and not (i == 0 and l.startswith("#version"))]
RANKS = {m: i for i, m in enumerate(merges)}


def bpe(word):
    parts = list(word)
    while len(parts) > 1:
        pairs = [(RANKS.get((parts[i], parts[i + 1]), 1 << 60), i) for i in range(len(parts) - 1)]
        rank, _ = min(pairs)
        if rank == 1 << 60:
            break
        a, b = merges[rank]
        merged, i = [], 0
        while i < len(parts):
            if i < len(parts) - 1 and parts[i] == a and parts[i + 1] == b:
                merged.append(a + b)
                i += 2
            else:
                merged.append(parts[i])
                i += 1
        parts = merged
    return parts


ADDED_RE = regex.compile("(" + "|".join(regex.escape(t) for t in sorted(DREAM_ADDED, key=len, reverse=True)) + ")")


def slow_encode(text):
    """The slow Qwen2 algorithm: NFC, split out added tokens, regex pre-split, byte map, BPE by rank."""
    text = unicodedata.normalize("NFC", text)
    ids = []
    for piece in ADDED_RE.split(text):
        if not piece:
            continue
        if piece in DREAM_ADDED:
            ids.append(base + DREAM_ADDED.index(piece))
            continue
        for w in regex.findall(QWEN2_SPLIT, piece):
            ids.extend(vocab[t] for t in bpe("".join(BYTE[b] for b in w.encode("utf-8"))))
    return ids


cases = ["Hello world", "Hello, world!", "  leading spaces", "trailing spaces   ", "tabs\tand\ttabs",
         "line\nbreaks\n\nand\r\nCRLF", "multiple     spaces   inside", "\n\n\n", "   ", "",
         "don't you're we'll I'M SHE'S they'D", "It's 3.14159 and 2,718,281", "1234567890", "x=12345+678*9",
         "0.000001e-10", "Ünïcödé façade naïve café", "e\u0301 composed by NFC: café vs cafe\u0301",
         "Ｆｕｌｌｗｉｄｔｈ １２３", "日本語のテキストです。", "中文分词测试：你好，世界！", "한국어 텍스트",
         "Привет, мир! Как дела?", "Γειά σου Κόσμε", "مرحبا بالعالم", "emoji 😀🎉🚀 and flags 🇯🇵🇫🇷",
         "family 👨‍👩‍👧‍👦 zwj", "∀x ∈ ℝ: x² ≥ 0", "def f(x):\n    return x ** 2\n", "for (int i = 0; i < n; i++) {}",
         "<html><body>tags</body></html>", "https://example.com/path?q=1&r=2#frag", "user@example.org",
         "C:\\Windows\\System32", "a\u00a0non-breaking\u2009thin space", "zero\u200bwidth",
         "<|im_start|>user\nHi there<|im_end|>\n<|im_start|>assistant\n",
         "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n",
         "text<|endoftext|>more text", "<|mask|><|mask|><|mask|>", "a<|beginoftext|>b", "<tool_call>{\"a\": 1}</tool_call>",
         "<|im_end|><|im_end|>", "<|not_a_special|>", "!!!???...", "---===+++", "$$$ 100 € 200 ¥ 300 £",
         "The quick brown fox jumps over the lazy dog.", "THE QUICK BROWN FOX", "snake_case and camelCase and kebab-case",
         "#### 42", "Step 1: 3 + 4 = 7\nStep 2: 7 * 2 = 14\n#### 14", "\u3000ideographic space", "mixed日本English한국",
         "  \n  \t  \n", "🙂" * 5, "a" * 40, "ab " * 15, "é" * 7, "'s 't 're 've 'm 'll 'd", "'S'T'RE",
         "q'uote 'single' \"double\"", "\u212b Angstrom sign (NFC -> Å)", "\ufb01 ligature fi (unchanged by NFC)"]
from transformers import AutoTokenizer  # noqa: E402

hf = AutoTokenizer.from_pretrained(tdir)
report = {"tokenizer_class": type(hf).__name__, "vocab": base, "mismatch_slow_vs_transformers": []}
rows = []
for text in cases:
    ids_hf = hf.encode(text, add_special_tokens=False)
    ids_slow = slow_encode(text)
    if ids_hf != ids_slow:
        report["mismatch_slow_vs_transformers"].append({"text": text, "hf": ids_hf, "slow": ids_slow})
    rows.append({"text": text, "ids": ids_hf, "decoded": hf.decode(ids_hf, skip_special_tokens=False)})
json.dump(rows, open(os.path.join(tdir, "cases.json"), "w", encoding="utf-8"), ensure_ascii=False, indent=1)
print("dream tokenizer:", json.dumps(report)[:2000])

# ---------------------------------------------------------------- LLaDA chat template
LLADA_TEMPLATE = ("{% set loop_messages = messages %}{% for message in loop_messages %}{% set content = "
                  "'<|start_header_id|>' + message['role'] + '<|end_header_id|>\n\n'+ message['content'] | trim + "
                  "'<|eot_id|>' %}{% if loop.index0 == 0 %}{% set content = bos_token + content %}{% endif %}"
                  "{{ content }}{% endfor %}{{ '<|start_header_id|>assistant<|end_header_id|>\n\n' }}")
hf.chat_template = LLADA_TEMPLATE
hf.bos_token = "<|startoftext|>"
prompts = ["Hi", "  What is 2 + 2?  ", "Line one\nLine two\n", "\tTabbed\t", "日本語で答えて。", "Emoji 😀 ok",
           "Q: 3*4?\n\nA:", " x "]
json.dump([{"prompt": q, "rendered": hf.apply_chat_template([{"role": "user", "content": q}], tokenize=False,
                                                            add_generation_prompt=True)} for q in prompts],
          open(os.path.join(out, "llada-template.json"), "w", encoding="utf-8"), ensure_ascii=False, indent=1)

# ---------------------------------------------------------------- TorchScript tiny models
from transformers import LlamaConfig, LlamaForCausalLM, Qwen2Config, Qwen2ForCausalLM  # noqa: E402


ids = torch.randint(3, 64, (3, 14))
mask = torch.ones_like(ids)
mask[2, 10:] = 0  # a right-padded row, as the Java batches are
ts_report = {}
for kind in ("llada", "dream"):
    d = os.path.join(out, "torchscript", kind)
    os.makedirs(d, exist_ok=True)
    if kind == "llada":
        c = LlamaConfig(vocab_size=64, hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                        num_attention_heads=4, num_key_value_heads=4, head_dim=8, rms_norm_eps=1e-5,
                        rope_theta=500000.0, max_position_embeddings=128, tie_word_embeddings=False)
        c._attn_implementation = "eager"
        m = LlamaForCausalLM(c).eval()
        randomise(m)
        tensors = llada_state_dict(m)
        save_file(tensors, os.path.join(d, "model.safetensors"))
        json.dump({"model_type": "llada", "d_model": 32, "n_layers": 2, "n_heads": 4, "n_kv_heads": 4,
                   "mlp_hidden_size": 64, "activation_type": "silu", "block_type": "llama", "layer_norm_type": "rms",
                   "rms_norm_eps": 1e-5, "rope_theta": 500000.0, "weight_tying": False, "vocab_size": 64,
                   "embedding_size": 64, "max_sequence_length": 128, "mask_token_id": 2, "eos_token_id": 1,
                   "pad_token_id": 1}, open(os.path.join(d, "config.json"), "w"), indent=1)
    else:
        c = Qwen2Config(vocab_size=64, hidden_size=48, intermediate_size=96, num_hidden_layers=2,
                        num_attention_heads=6, num_key_value_heads=2, rms_norm_eps=1e-6, rope_theta=1000000.0,
                        max_position_embeddings=128, tie_word_embeddings=False)
        c._attn_implementation = "eager"
        m = Qwen2ForCausalLM(c).eval()
        randomise(m)
        m.save_pretrained(d, safe_serialization=True)
        cfg = json.load(open(os.path.join(d, "config.json")))
        cfg.update({"model_type": "Dream", "mask_token_id": 2, "eos_token_id": 1, "pad_token_id": 1,
                    "rope_theta": 1000000.0})
        json.dump(cfg, open(os.path.join(d, "config.json"), "w"), indent=1)
    ref = hf_logits(m, ids, mask)
    scripted = ets.export(d, d)
    with torch.no_grad():
        got = scripted(ids, mask).float()
    diff = (got - ref)[mask.bool()].abs().max().item()
    ts_report[kind] = diff
    np.save(os.path.join(d, "ids.npy"), ids.numpy().astype(np.int64))
    np.save(os.path.join(d, "mask.npy"), mask.numpy().astype(np.int64))
    np.save(os.path.join(d, "logits.npy"), got.numpy().astype(np.float32))
    for f in os.listdir(d):
        if f.startswith("generation_config"):
            os.remove(os.path.join(d, f))
print("torchscript max |scripted - transformers| on real positions:", ts_report)
json.dump({"dream_tokenizer": report, "torchscript_vs_transformers": ts_report, "torch": torch.__version__,
           "transformers": __import__("transformers").__version__},
          open(os.path.join(out, "report.json"), "w"), indent=1)
