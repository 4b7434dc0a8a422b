# The transformer stack of the LLaDA / Dream / SDAR family as one TorchScript module, called once per
# forward from Java (dev.freedave.model.TransformerCore packs it into a TorchScript archive at load,
# with the model's hyper-parameters as the attributes below). It holds no weights: every call passes
# them in, in the layout of dev.freedave.model.LlamaWeights:
#   [embedding, final norm, head] + per layer [attn norm, qkv, qkv bias, o, ffn norm, gate|up, down]
#   (+ [q norm, k norm] when qk_norm; per_layer says how many)
# A `block` argument > 0 makes attention block-causal (SDAR): a query at position p sees a key at q
# only if q // block <= p // block; 0 keeps it bidirectional.
# Shapes: B rows, T tokens of a row, H heads, Hkv key/value heads, hd head dim, d hidden, V vocab.
# This file is TorchScript as torch.jit.load reads it: dtypes are ScalarType numbers (5 = float16,
# 6 = float32, 11 = bool) and every method is typed.
class TransformerCore(Module):
  __parameters__ = []
  __buffers__ = []
  training : bool
  _is_full_backward_hook : Optional[bool]
  heads : int
  kv_heads : int
  head_dim : int
  layers : int
  qkv_bias : bool
  residual_fp32 : bool
  qk_norm : bool
  per_layer : int
  eps : float
  cuda_efficient : bool
  concat_bytes : int

  # RMSNorm x * rsqrt(mean(x^2) + eps) * w, accumulated in float32 as the reference models do: one
  # aten op (a fused kernel on CUDA) where the written-out formula dispatched five. The weights share
  # the residual stream's dtype (LlamaWeights); a float16 q/k under float32 norms is widened first.
  def norm(self: __torch__.freedave.TransformerCore, x: Tensor, w: Tensor) -> Tensor:
    if x.dtype != w.dtype:
      x = x.float()
    return torch.rms_norm(x, [w.size(0)], w, self.eps)

  # x in dtype dt: a cast only where it changes something (a no-op cast still costs an op's dispatch)
  def cast(self: __torch__.freedave.TransformerCore, x: Tensor, dt: int) -> Tensor:
    if x.dtype != dt:
      x = x.to(dt)
    return x

  # half-rotation RoPE on [B, n, T, hd] with cos/sin [B, 1, T, hd], sin's first half negated
  # (RopeTable): x * cos + [-x2, x1] * sin written with roll(x) = [x2, x1] times that sin, the same
  # products bit for bit in four ops where two narrows, a neg and a cat made it seven (each op is a
  # dispatch from the host, which is what a small model's forward costs on a GPU)
  def rope(self: __torch__.freedave.TransformerCore, x: Tensor, cos: Tensor, sin: Tensor) -> Tensor:
    return x * cos + torch.roll(x, [self.head_dim // 2], [3]) * sin

  # q [B, H, T, hd] against k, v [B, Hkv, S, hd] -> [B, T, H * hd]. GQA without copying K/V: the
  # query heads of one KV head are folded into its rows; bias is bias()'s [B, Hkv, G * T, S].
  def attend(self: __torch__.freedave.TransformerCore, q: Tensor, k: Tensor, v: Tensor, bias: Optional[Tensor]) -> Tensor:
    b = q.size(0)
    t = q.size(2)
    g = self.heads // self.kv_heads
    qg = q
    if g > 1:
      qg = q.reshape([b, self.kv_heads, g * t, self.head_dim])
    if q.is_cuda and self.cuda_efficient:
      # the memory-efficient kernel by name: scaled_dot_product_attention's own pick for float16 on
      # an H100/H200 is cuDNN's, which builds a plan for every new shape (40-55 ms each, and
      # FreeDave's forwards change shape every step; docs/results.md, "cuDNN attention")
      o = torch._scaled_dot_product_efficient_attention(qg, k, v, bias, qg.requires_grad)[0]
    else:
      o = torch.scaled_dot_product_attention(qg, k, v, attn_mask=bias)
    if g > 1:
      o = o.reshape([b, self.heads, t, self.head_dim])
    return o.transpose(1, 2).reshape([b, t, self.heads * self.head_dim])

  # The additive attention bias attend() takes, in the queries' dtype dt, for t queries of a row: 0
  # where a query may attend, -inf elsewhere. masks are boolean [B, 1, 1, 1 or t, S_i] (true = may
  # attend) over consecutive ranges of the S = sum S_i keys (a cached forward: its frozen keys, then
  # its fresh ones), each written into place, so no mask of all keys is put together first. Each row
  # of keys is padded in memory to a multiple of 16 (the alignment the memory-efficient kernel reads
  # with); the G query heads of a KV head are folded into its rows (axis 2 here) and the result is
  # broadcast to [B, Hkv, G * t, S] as attend() takes it; made once per forward for all layers.
  def bias(self: __torch__.freedave.TransformerCore, masks: List[Tensor], dt: int, t: int) -> Tensor:
    b = masks[0].size(0)
    rows = 1
    s = 0
    for m in masks:
      rows = max(rows, m.size(3))
      s += m.size(4)
    g = 1
    if rows > 1:
      g = self.heads // self.kv_heads
    wide = (s + 15) // 16 * 16
    out = torch.full([b, 1, g, rows, wide], float("-inf"), dtype=dt, device=masks[0].device)
    at = 0
    for m in masks:
      out.narrow(4, at, m.size(4)).masked_fill_(m, 0.0)
      at += m.size(4)
    out = out.view([b, 1, g * rows, wide]).narrow(3, 0, s)
    return out.expand([b, self.kv_heads, self.heads // self.kv_heads * t, s])

  # One block on h [B, T, d] -> (h, and this layer's fresh rotated keys and values [B, Hkv, T, hd]).
  # Without kl, vl attention runs over the fresh keys alone. With them and at >= 0, kl, vl
  # [B, Hkv, S, hd] are buffers: the fresh keys/values are written into them at [at, at + T) and
  # attention runs over all S (frozen + fresh). With them and at < 0 they are the frozen keys/values
  # [B, Hkv, F, hd] and attention runs over those concatenated with the fresh ones.
  def layer(self: __torch__.freedave.TransformerCore, h: Tensor, i: int, weights: List[Tensor], cos: Tensor, sin: Tensor,
            kl: Optional[Tensor], vl: Optional[Tensor], at: int, bias: Optional[Tensor]) -> Tuple[Tensor, Tensor, Tensor]:
    w = 3 + self.per_layer * i
    b = h.size(0)
    t = h.size(1)
    dt = weights[w + 1].dtype
    x = self.cast(self.norm(h, weights[w]), dt)
    if self.qkv_bias:
      qkv = torch.linear(x, weights[w + 1], weights[w + 2])
    else:
      qkv = torch.linear(x, weights[w + 1])
    # every head of q, k and v as [B, heads, T, hd] in one view
    qkv = qkv.view([b, t, self.heads + 2 * self.kv_heads, self.head_dim]).transpose(1, 2)
    qk = qkv.narrow(1, 0, self.heads + self.kv_heads)
    if self.qk_norm:
      # each head's q and k through their own RMSNorm over hd, before RoPE (Qwen3)
      qk = torch.cat([self.cast(self.norm(qk.narrow(1, 0, self.heads), weights[w + 7]), dt),
                      self.cast(self.norm(qk.narrow(1, self.heads, self.kv_heads), weights[w + 8]), dt)], 1)
    qk = self.rope(qk, cos, sin)
    q = qk.narrow(1, 0, self.heads)
    k = qk.narrow(1, self.heads, self.kv_heads)
    v = qkv.narrow(1, self.heads + self.kv_heads, self.kv_heads)
    if kl is not None and vl is not None and at >= 0:
      kl.narrow(2, at, t).copy_(k)
      vl.narrow(2, at, t).copy_(v)
      o = self.attend(q, kl, vl, bias)
    elif kl is not None and vl is not None:
      o = self.attend(q, torch.cat([kl, k], 2), torch.cat([vl, v], 2), bias)
    else:
      o = self.attend(q, k, v, bias)
    # the residual adds promote a float16 branch to a float32 stream (Dream) by themselves
    h = h + torch.linear(o, weights[w + 3])
    x = self.cast(self.norm(h, weights[w + 4]), dt)
    gu = torch.linear(x, weights[w + 5]).chunk(2, -1)
    return h + torch.linear(torch.silu(gu[0]) * gu[1], weights[w + 6]), k, v

  # token embeddings [B, T, d]; the residual stream stays in the weights' dtype unless the family
  # needs float32 (Dream's Qwen2 activations overflow float16)
  def embed(self: __torch__.freedave.TransformerCore, ids: Tensor, weights: List[Tensor]) -> Tensor:
    h = torch.embedding(weights[0], ids)
    if self.residual_fp32:
      h = h.float()
    return h

  # float32 logits [B, W, V] of the rows out_index [B, W] picks: the LM head runs on W, not T
  def head(self: __torch__.freedave.TransformerCore, h: Tensor, out_index: Tensor, weights: List[Tensor]) -> Tensor:
    hw = torch.gather(h, 1, out_index.unsqueeze(2).expand([h.size(0), out_index.size(1), h.size(2)]))
    return torch.linear(self.cast(self.norm(hw, weights[1]), weights[2].dtype), weights[2]).float()

  # cos/sin tables [P, hd] -> the rows of positions pos [B, T], as [B, 1, T, hd]
  def angles(self: __torch__.freedave.TransformerCore, table: Tensor, pos: Tensor) -> Tensor:
    return table[pos].unsqueeze(1)

  # Every layer on the tokens ids [B, T] at positions pos: the hidden states [B, T, d] after the
  # last, and, when collect is true, every layer's fresh rotated keys and values, [B, layers, 1, Hkv,
  # T, hd] each (otherwise h stands in for both): row b's is a cache as the callers keep it, one
  # contiguous stack of one row, so that several rows' caches concatenate in one copy kernel (strided
  # ones take a copy each). frozen_k, frozen_v: per layer what layer() takes as kl, vl with `at` (a
  # cached forward's frozen keys/values, or buffers holding them), or None.
  def layers_of(self: __torch__.freedave.TransformerCore, ids: Tensor, pos: Tensor, bias: Optional[Tensor],
                cos: Tensor, sin: Tensor, weights: List[Tensor], frozen_k: Optional[List[Tensor]],
                frozen_v: Optional[List[Tensor]], at: int, collect: bool) -> Tuple[Tensor, Tensor, Tensor]:
    c = self.angles(cos, pos)
    s = self.angles(sin, pos)
    h = self.embed(ids, weights)
    ks : List[Tensor] = []
    vs : List[Tensor] = []
    for i in range(self.layers):
      kl : Optional[Tensor] = None
      vl : Optional[Tensor] = None
      if frozen_k is not None and frozen_v is not None:
        kl = frozen_k[i]
        vl = frozen_v[i]
      h, k, v = self.layer(h, i, weights, c, s, kl, vl, at, bias)
      if collect:
        ks.append(k)
        vs.append(v)
    if not collect:
      return h, h, h
    return h, torch.stack(ks, 1).unsqueeze(2), torch.stack(vs, 1).unsqueeze(2)

  # [B, 1, 1, T(query), T(key)]: whether each key's block (pos // block) is at or before its query's
  def block_causal(self: __torch__.freedave.TransformerCore, pos: Tensor, block: int) -> Tensor:
    blk = torch.div(pos, block, rounding_mode="floor")
    return torch.le(blk.unsqueeze(1), blk.unsqueeze(2)).view([pos.size(0), 1, 1, pos.size(1), pos.size(1)])

  # the bias of a forward over whole rows: keep [B, T] masks padding keys when masked is true, and
  # block > 0 adds the block-causal pattern of the positions pos [B, T]; None when nothing is masked
  def whole_rows_bias(self: __torch__.freedave.TransformerCore, pos: Tensor, keep: Tensor, masked: bool,
                      block: int, dt: int) -> Optional[Tensor]:
    b = pos.size(0)
    t = pos.size(1)
    mask : Optional[Tensor] = None
    if masked:
      mask = torch.ne(keep, 0).view([b, 1, 1, 1, t])
    if block > 0:
      causal = self.block_causal(pos, block)
      if mask is not None:
        causal = causal & mask
      mask = causal
    if mask is None:
      return None
    return self.bias([mask], dt, t)

  # forward over whole rows (bidirectional, or block-causal with block > 0); logits [B, W, V]
  def full(self: __torch__.freedave.TransformerCore, ids: Tensor, pos: Tensor, keep: Tensor, masked: bool,
           block: int, out_index: Tensor, cos: Tensor, sin: Tensor, weights: List[Tensor]) -> Tensor:
    bias = self.whole_rows_bias(pos, keep, masked, block, weights[4].dtype)
    h, k, v = self.layers_of(ids, pos, bias, cos, sin, weights, None, None, -1, False)
    return self.head(h, out_index, weights)

  # full() that also returns every layer's rotated keys and values, [B, layers, 1, Hkv, T, hd] each,
  # from which the caller freezes each row's block cache
  def fill(self: __torch__.freedave.TransformerCore, ids: Tensor, pos: Tensor, keep: Tensor, masked: bool,
           block: int, out_index: Tensor, cos: Tensor, sin: Tensor, weights: List[Tensor]) -> Tuple[Tensor, Tensor, Tensor]:
    bias = self.whole_rows_bias(pos, keep, masked, block, weights[4].dtype)
    h, k, v = self.layers_of(ids, pos, bias, cos, sin, weights, None, None, -1, True)
    return self.head(h, out_index, weights), k, v

  # Cached forward of R rows at once. ids, pos, draft [R, T]: each row's drafts' query windows back
  # to back, draft = the draft a query belongs to (negative = padding). kcache/vcache: per row its
  # frozen [layers, 1, Hkv, F_r, hd] (or one fill's rows, see frozen_rows); key_keep, boolean [R, F]
  # (F >= every F_r), says which frozen keys a row's queries see. A query sees those and the fresh keys of its own draft (block-diagonal over
  # drafts; with block > 0 only those of its own block and before); a padding query sees the row's
  # padding keys, never a real query's, and no real query sees it. Returns the hidden states
  # [R, T, d] and, with fresh_kv, every layer's fresh keys and values, [R, layers, 1, Hkv, T, hd] each.
  def cached_hidden(self: __torch__.freedave.TransformerCore, ids: Tensor, pos: Tensor, draft: Tensor,
                    key_keep: Tensor, block: int, kcache: List[Tensor], vcache: List[Tensor], cos: Tensor,
                    sin: Tensor, weights: List[Tensor], fresh_kv: bool) -> Tuple[Tensor, Tensor, Tensor]:
    r = ids.size(0)
    t = ids.size(1)
    f = key_keep.size(1)
    # Two layouts of the keys, by measurement (docs/results.md, "Cached keys"). Where one layer's
    # frozen keys and values of all rows are small (concat_bytes, 32 MiB by default), every layer
    # attends over them concatenated with its fresh ones (2 ops a layer), the rows' caches stacked
    # once, layer-major (under CUDA graphs the caller stacks them: cached_stacked). Where they are
    # large, the concatenation's copies cost more than the ops saved (LLaDA-8B shape, 8 rows x 1
    # draft, 64 MiB a layer: 22.0 ms concatenating, 15.5 with a buffer), so the rows' caches are
    # copied once into one buffer with room for the fresh keys, which every layer writes (4 ops a
    # layer).
    if 2 * r * self.kv_heads * f * self.head_dim * weights[4].element_size() <= self.concat_bytes:
      return self.stacked_hidden(ids, pos, draft, key_keep, block, self.frozen_rows(kcache, f, 0),
                                 self.frozen_rows(vcache, f, 0), cos, sin, weights, fresh_kv)
    bias = self.cached_bias(pos, draft, key_keep, block, weights[4].dtype)
    kbuf = self.frozen_rows(kcache, f, t)
    vbuf = self.frozen_rows(vcache, f, t)
    h, k, v = self.layers_of(ids, pos, bias, cos, sin, weights, kbuf.unbind(0), vbuf.unbind(0), f, False)
    if not fresh_kv:
      return h, h, h
    fresh = [r, self.layers, 1, self.kv_heads, t, self.head_dim]
    return h, kbuf.narrow(3, f, t).transpose(0, 1).reshape(fresh), vbuf.narrow(3, f, t).transpose(0, 1).reshape(fresh)

  # cached_hidden() with the rows' frozen keys and values stacked layer-major, [layers, R, Hkv, F,
  # hd] each: every layer attends over its frozen keys concatenated with the fresh ones
  def stacked_hidden(self: __torch__.freedave.TransformerCore, ids: Tensor, pos: Tensor, draft: Tensor,
                     key_keep: Tensor, block: int, kst: Tensor, vst: Tensor, cos: Tensor, sin: Tensor,
                     weights: List[Tensor], fresh_kv: bool) -> Tuple[Tensor, Tensor, Tensor]:
    bias = self.cached_bias(pos, draft, key_keep, block, weights[4].dtype)
    return self.layers_of(ids, pos, bias, cos, sin, weights, kst.unbind(0), vst.unbind(0), -1, fresh_kv)

  # the bias of a cached forward (see cached_hidden) over its frozen keys and then its fresh ones
  def cached_bias(self: __torch__.freedave.TransformerCore, pos: Tensor, draft: Tensor, key_keep: Tensor, block: int,
                  dt: int) -> Tensor:
    r = draft.size(0)
    t = draft.size(1)
    fresh = torch.eq(draft.view([r, 1, 1, t, 1]), draft.view([r, 1, 1, 1, t]))
    if block > 0:
      fresh = fresh & self.block_causal(pos, block)
    return self.bias([key_keep.view([r, 1, 1, 1, key_keep.size(1)]), fresh], dt, t)

  # cached() with the rows' frozen keys and values already stacked layer-major, [layers, R, Hkv, F,
  # hd] each (all tensors, as a CUDA graph of the call takes its inputs; dev.freedave.model.CudaGraphs)
  def cached_stacked(self: __torch__.freedave.TransformerCore, ids: Tensor, pos: Tensor, draft: Tensor,
                     key_keep: Tensor, block: int, kst: Tensor, vst: Tensor, out_index: Tensor, cos: Tensor,
                     sin: Tensor, weights: List[Tensor]) -> Tensor:
    h, k, v = self.stacked_hidden(ids, pos, draft, key_keep, block, kst, vst, cos, sin, weights, False)
    return self.head(h, out_index, weights)

  # cached_stacked() that also returns the fresh keys and values, as cached_kv() does
  def cached_stacked_kv(self: __torch__.freedave.TransformerCore, ids: Tensor, pos: Tensor, draft: Tensor,
                        key_keep: Tensor, block: int, kst: Tensor, vst: Tensor, out_index: Tensor, cos: Tensor,
                        sin: Tensor, weights: List[Tensor]) -> Tuple[Tensor, Tensor, Tensor]:
    h, k, v = self.stacked_hidden(ids, pos, draft, key_keep, block, kst, vst, cos, sin, weights, True)
    return self.head(h, out_index, weights), k, v

  # The rows' frozen [layers, 1, Hkv, F_r, hd] in one layer-major tensor [layers, R, Hkv, F + room,
  # hd], each padded to F = the longest (each layer's rows one contiguous tensor), the last `room`
  # positions left for the layers to write before any read. A list of one [R, layers, 1, Hkv, F, hd]
  # holds the rows as one fill froze them (the caller passes that where the call's rows are exactly
  # that fill's): a layer-major view of it, with no copy where nothing is to be written. Rows frozen at
  # one length (the decoders pad fills to a multiple of 128) are one concatenation where nothing is to
  # be written; where the layers need room, every row is copied into place once (concatenating first
  # copied each row twice: at LLaDA-8B shape, 8 rows of 512 frozen positions, 1 GiB more a forward).
  # The gaps of rows of several lengths are zero (masked, but never NaN).
  def frozen_rows(self: __torch__.freedave.TransformerCore, cache: List[Tensor], f: int, room: int) -> Tensor:
    if cache[0].dim() == 6:
      stacked = cache[0].squeeze(2).transpose(0, 1)  # one fill's rows, as a view
      if room == 0:
        return stacked
      out = torch.empty([self.layers, stacked.size(1), self.kv_heads, f + room, self.head_dim], dtype=stacked.dtype,
                        device=stacked.device)
      out.narrow(3, 0, f).copy_(stacked)
      return out
    equal = True
    for j in range(len(cache)):
      if cache[j].size(3) != f:
        equal = False
    if equal and room == 0:
      return cache[0] if len(cache) == 1 else torch.cat(cache, 1)  # one row: read where it lies
    r = len(cache)
    shape = [self.layers, r, self.kv_heads, f + room, self.head_dim]
    if equal:
      out = torch.empty(shape, dtype=cache[0].dtype, device=cache[0].device)
    else:
      out = torch.zeros(shape, dtype=cache[0].dtype, device=cache[0].device)
    for j in range(r):
      out.narrow(1, j, 1).narrow(3, 0, cache[j].size(3)).copy_(cache[j])
    return out

  # the logits [R, W, V] of a cached forward (see cached_hidden)
  def cached(self: __torch__.freedave.TransformerCore, ids: Tensor, pos: Tensor, draft: Tensor, key_keep: Tensor,
             block: int, kcache: List[Tensor], vcache: List[Tensor], out_index: Tensor, cos: Tensor, sin: Tensor,
             weights: List[Tensor]) -> Tensor:
    h, kf, vf = self.cached_hidden(ids, pos, draft, key_keep, block, kcache, vcache, cos, sin, weights, False)
    return self.head(h, out_index, weights)

  # cached() that also returns the fresh keys and values, [R, layers, 1, Hkv, T, hd] each: what a
  # block-causal row appends to its cache once the block they belong to is finished, and what a
  # row filling its cache in this call freezes
  def cached_kv(self: __torch__.freedave.TransformerCore, ids: Tensor, pos: Tensor, draft: Tensor,
                key_keep: Tensor, block: int, kcache: List[Tensor], vcache: List[Tensor], out_index: Tensor,
                cos: Tensor, sin: Tensor, weights: List[Tensor]) -> Tuple[Tensor, Tensor, Tensor]:
    h, kf, vf = self.cached_hidden(ids, pos, draft, key_keep, block, kcache, vcache, cos, sin, weights, True)
    return self.head(h, out_index, weights), kf, vf

  # The greedy pick at each position of logits [N, W, V] over the vocabulary without the id
  # excluded, as dev.freedave.model.DiffusionLM.greedy gives it: the argmax, and the sum of
  # exp(logit - max), in one float32 [2, N, W] (one read for the host; ids are exact in float32 below
  # 2^24). The same aten ops as that method's DJL default, so the same numbers, in one call.
  def greedy(self: __torch__.freedave.TransformerCore, logits: Tensor, excluded: int) -> Tensor:
    bias = torch.zeros([logits.size(2)], dtype=logits.dtype, device=logits.device)
    bias.narrow(0, excluded, 1).fill_(float("-inf"))
    masked = logits + bias
    top = torch.max(masked, -1, True)[0]
    sums = torch.sum(torch.exp(masked - top), [-1])
    return torch.stack([torch.argmax(masked, -1).to(sums.dtype), sums])

  # every position's logits with autograd (a trainer's forward: tensors only, keep always applied)
  def train_logits(self: __torch__.freedave.TransformerCore, ids: Tensor, pos: Tensor, keep: Tensor, cos: Tensor,
                   sin: Tensor, weights: List[Tensor]) -> Tensor:
    bias = self.whole_rows_bias(pos, keep, True, 0, weights[4].dtype)
    h, k, v = self.layers_of(ids, pos, bias, cos, sin, weights, None, None, -1, False)
    return torch.linear(self.cast(self.norm(h, weights[1]), weights[2].dtype), weights[2]).float()
