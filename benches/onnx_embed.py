"""The peer for the built-in embedder: ONNX Runtime (PyPI `onnxruntime`) running the
same all-MiniLM-L6-v2 weights on the same texts, batch 32, 1 and N intra-op threads.

No exporter is available offline (optimum needs torch), so the graph is built here from
model.safetensors with onnx.helper, in two forms, and both are timed:
  plain  standard opset-17 ops (MatMul, Softmax, LayerNormalization, Erf): what a
         PyTorch export gives before ORT's offline optimizer;
  fused  ORT's own fused BERT kernels (com.microsoft EmbedLayerNormalization, Attention,
         SkipLayerNormalization, BiasGelu): what `onnxruntime.transformers.optimizer`
         produces, i.e. ORT at its best on CPU.
Tokenization is HuggingFace `tokenizers` (Rust) with the model's tokenizer.json,
truncation 128, padding to the longest text of each batch; mean pooling and L2
normalization in numpy. Timing covers texts in, normalized vectors out, like ours.

    python benches/onnx_embed.py --models models --data ../shared/data --n 1024 --threads 2
One JSON line per (graph, threads, order); `order` is `input` (batches as given, like
fastembed) or `sorted` (texts sorted by length first, less padding).
"""

import argparse
import json
import struct
import time
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper
from tokenizers import Tokenizer


def load_safetensors(path):
    raw = Path(path).read_bytes()
    n = struct.unpack("<Q", raw[:8])[0]
    header = json.loads(raw[8 : 8 + n])
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        a, b = info["data_offsets"]
        dt = {"F32": np.float32, "I64": np.int64}[info["dtype"]]
        out[name] = np.frombuffer(raw[8 + n + a : 8 + n + b], dtype=dt).reshape(info["shape"])
    return out


class Graph:
    def __init__(self, w):
        self.w, self.nodes, self.inits, self.n = w, [], [], 0

    def name(self, p):
        self.n += 1
        return f"{p}_{self.n}"

    def const(self, arr, p="c"):
        nm = self.name(p)
        self.inits.append(numpy_helper.from_array(np.ascontiguousarray(arr), nm))
        return nm

    def op(self, kind, inputs, domain=None, **attrs):
        out = self.name(kind)
        self.nodes.append(helper.make_node(kind, inputs, [out], domain=domain, **attrs))
        return out

    def linear(self, x, prefix):
        y = self.op("MatMul", [x, self.const(self.w[prefix + ".weight"].T)])
        return self.op("Add", [y, self.const(self.w[prefix + ".bias"])])


def build(w, cfg, fused):
    g = Graph(w)
    heads, hidden = cfg["num_attention_heads"], cfg["hidden_size"]
    hd = hidden // heads
    eps = cfg["layer_norm_eps"]
    inputs = [
        helper.make_tensor_value_info("input_ids", TensorProto.INT32, ["B", "S"]),
        helper.make_tensor_value_info("mask", TensorProto.INT32, ["B", "S"]),
    ]
    e = "embeddings."
    if fused:
        seg = g.op("Mul", ["input_ids", g.const(np.array(0, np.int32))])
        emb_out = "emb_out"
        g.nodes.append(
            helper.make_node(
                "EmbedLayerNormalization",
                ["input_ids", seg, g.const(w[e + "word_embeddings.weight"]),
                 g.const(w[e + "position_embeddings.weight"]),
                 g.const(w[e + "token_type_embeddings.weight"]),
                 g.const(w[e + "LayerNorm.weight"]), g.const(w[e + "LayerNorm.bias"]), "mask"],
                [emb_out, "mask_index"], domain="com.microsoft", epsilon=eps,
            )
        )
        x = emb_out
    else:
        ids64 = g.op("Cast", ["input_ids"], to=TensorProto.INT64)
        words = g.op("Gather", [g.const(w[e + "word_embeddings.weight"]), ids64])
        one = g.const(np.array([1], np.int64))
        seq = g.op("Slice", [g.op("Shape", [ids64]), one, g.const(np.array([2], np.int64))])
        zero = g.const(np.array([0], np.int64))
        pos = g.op("Slice", [g.const(w[e + "position_embeddings.weight"]), zero, seq, zero])
        typ = g.const(w[e + "token_type_embeddings.weight"][0])
        s = g.op("Add", [g.op("Add", [words, pos]), typ])
        x = g.op("LayerNormalization", [s, g.const(w[e + "LayerNorm.weight"]), g.const(w[e + "LayerNorm.bias"])],
                 axis=-1, epsilon=eps)
        maskf = g.op("Cast", ["mask"], to=TensorProto.FLOAT)
        m4 = g.op("Unsqueeze", [maskf, g.const(np.array([1, 2], np.int64))])
        add_mask = g.op("Mul", [g.op("Sub", [g.const(np.array(1, np.float32)), m4]),
                                g.const(np.array(-10000.0, np.float32))])
    for i in range(cfg["num_hidden_layers"]):
        p = f"encoder.layer.{i}."
        a = p + "attention."
        if fused:
            wqkv = np.concatenate([w[a + f"self.{t}.weight"].T for t in ("query", "key", "value")], axis=1)
            bqkv = np.concatenate([w[a + f"self.{t}.bias"] for t in ("query", "key", "value")])
            ctx = g.op("Attention", [x, g.const(wqkv), g.const(bqkv), "mask_index"],
                       domain="com.microsoft", num_heads=heads)
            o = g.op("MatMul", [ctx, g.const(w[a + "output.dense.weight"].T)])
            x = g.op("SkipLayerNormalization",
                     [o, x, g.const(w[a + "output.LayerNorm.weight"]), g.const(w[a + "output.LayerNorm.bias"]),
                      g.const(w[a + "output.dense.bias"])], domain="com.microsoft", epsilon=eps)
            h = g.op("MatMul", [x, g.const(w[p + "intermediate.dense.weight"].T)])
            h = g.op("BiasGelu", [h, g.const(w[p + "intermediate.dense.bias"])], domain="com.microsoft")
            o = g.op("MatMul", [h, g.const(w[p + "output.dense.weight"].T)])
            x = g.op("SkipLayerNormalization",
                     [o, x, g.const(w[p + "output.LayerNorm.weight"]), g.const(w[p + "output.LayerNorm.bias"]),
                      g.const(w[p + "output.dense.bias"])], domain="com.microsoft", epsilon=eps)
        else:
            split = g.const(np.array([0, 0, heads, hd], np.int64))
            def heads_of(t, perm):
                return g.op("Transpose", [g.op("Reshape", [g.linear(x, a + f"self.{t}"), split])], perm=perm)
            q = heads_of("query", [0, 2, 1, 3])
            k = heads_of("key", [0, 2, 3, 1])
            v = heads_of("value", [0, 2, 1, 3])
            sc = g.op("Mul", [g.op("MatMul", [q, k]), g.const(np.array(1 / np.sqrt(hd), np.float32))])
            pr = g.op("Softmax", [g.op("Add", [sc, add_mask])], axis=-1)
            ctx = g.op("Transpose", [g.op("MatMul", [pr, v])], perm=[0, 2, 1, 3])
            ctx = g.op("Reshape", [ctx, g.const(np.array([0, 0, hidden], np.int64))])
            o = g.linear(ctx, a + "output.dense")
            x = g.op("LayerNormalization", [g.op("Add", [o, x]), g.const(w[a + "output.LayerNorm.weight"]),
                                             g.const(w[a + "output.LayerNorm.bias"])], axis=-1, epsilon=eps)
            h = g.linear(x, p + "intermediate.dense")
            h = g.op("Mul", [g.op("Mul", [h, g.const(np.array(0.5, np.float32))]),
                             g.op("Add", [g.op("Erf", [g.op("Div", [h, g.const(np.array(np.sqrt(2), np.float32))])]),
                                          g.const(np.array(1, np.float32))])])
            o = g.linear(h, p + "output.dense")
            x = g.op("LayerNormalization", [g.op("Add", [o, x]), g.const(w[p + "output.LayerNorm.weight"]),
                                             g.const(w[p + "output.LayerNorm.bias"])], axis=-1, epsilon=eps)
    g.nodes.append(helper.make_node("Identity", [x], ["hidden"]))
    out = [helper.make_tensor_value_info("hidden", TensorProto.FLOAT, ["B", "S", hidden])]
    graph = helper.make_graph(g.nodes, "minilm", inputs, out, g.inits)
    opsets = [helper.make_opsetid("", 17)] + ([helper.make_opsetid("com.microsoft", 1)] if fused else [])
    model = helper.make_model(graph, opset_imports=opsets)
    model.ir_version = 8
    onnx.checker.check_model(model, full_check=False)
    return model.SerializeToString()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--models", default="models")
    ap.add_argument("--data", default="../shared/data")
    ap.add_argument("--n", type=int, default=1024)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--graphs", default="plain,fused")
    args = ap.parse_args()
    mdir = Path(args.models) / "all-MiniLM-L6-v2"
    cfg = json.loads((mdir / "config.json").read_text())
    w = load_safetensors(mdir / "model.safetensors")
    tok = Tokenizer.from_file(str(mdir / "tokenizer.json"))
    tok.no_padding()
    tok.enable_truncation(128)
    texts = []
    with open(Path(args.data) / "docs.jsonl") as f:
        for line in f:
            if len(texts) == args.n:
                break
            texts.append(json.loads(line)["text"])
    raw = np.fromfile(Path(args.data) / "base.fvecs", dtype=np.int32, count=(385) * args.n)
    base = raw.reshape(-1, 385)[:, 1:].view(np.float32)
    tokens = sum(len(e.ids) for e in tok.encode_batch(texts))

    def run(sess, order):
        idx = list(range(len(texts)))
        if order == "sorted":
            idx.sort(key=lambda i: len(texts[i]))
        out = np.zeros((len(texts), cfg["hidden_size"]), np.float32)
        for s in range(0, len(idx), args.batch):
            part = idx[s : s + args.batch]
            enc = tok.encode_batch([texts[i] for i in part])
            width = max(len(e.ids) for e in enc)
            ids = np.zeros((len(enc), width), np.int32)
            mask = np.zeros((len(enc), width), np.int32)
            for r, e in enumerate(enc):
                ids[r, : len(e.ids)] = e.ids
                mask[r, : len(e.ids)] = 1
            hidden = sess.run(None, {"input_ids": ids, "mask": mask})[0]
            m = mask[:, :, None].astype(np.float32)
            pooled = (hidden * m).sum(1) / np.maximum(m.sum(1), 1e-9)
            pooled /= np.linalg.norm(pooled, axis=1, keepdims=True)
            out[part] = pooled
        return out

    for graph in args.graphs.split(","):
        blob = build(w, cfg, graph == "fused")
        for t in sorted({1, args.threads}):
            so = ort.SessionOptions()
            so.intra_op_num_threads = t
            so.inter_op_num_threads = 1
            so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
            sess = ort.InferenceSession(blob, so, providers=["CPUExecutionProvider"])
            run(sess, "input")  # warm-up
            for order in ("input", "sorted"):
                t0 = time.perf_counter()
                got = run(sess, order)
                secs = time.perf_counter() - t0
                worst = float((got * base[: len(texts)]).sum(1).min())
                print(json.dumps({
                    "engine": f"onnxruntime-{ort.__version__}", "graph": graph, "order": order,
                    "threads": t, "batch": args.batch, "texts": len(texts), "tokens": tokens,
                    "seconds": round(secs, 3), "embeddings_per_s": round(len(texts) / secs, 1),
                    "tokens_per_s": round(tokens / secs), "worst_cosine": round(worst, 6),
                }), flush=True)


if __name__ == "__main__":
    main()
