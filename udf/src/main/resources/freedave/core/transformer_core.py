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

  # half-rotation RoPE on [B, n, T, hd] with cos/sin [B, 1, T, hd]
  def rope(self: __torch__.freedave.TransformerCore, x: Tensor, cos: Tensor, sin: Tensor) -> Tensor:
    half = self.head_dim // 2
    return x * cos + torch.cat([torch.neg(x.narrow(3, half, half)), x.narrow(3, 0, half)], -1) * sin

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

  # a boolean mask [B, 1, 1 or G * T, S] (true = may attend) as the additive bias attend() takes, in
  # the dtype dt of the queries, for q queries per KV head (G * T): 0 or -inf, each row of keys padded
  # in memory to a multiple of 16 (the alignment the memory-efficient kernel reads with), broadcast to
  # [B, Hkv, q, S] as that kernel takes it; made once per forward for all layers
  def bias(self: __torch__.freedave.TransformerCore, mask: Optional[Tensor], dt: int, q: int) -> Optional[Tensor]:
    if mask is None:
      return None
    s = mask.size(3)
    wide = (s + 15) // 16 * 16
    out = torch.full([mask.size(0), mask.size(1), mask.size(2), wide], float("-inf"), dtype=dt, device=mask.device)
    out = out.narrow(3, 0, s)
    out.masked_fill_(mask, 0.0)
    return out.expand([mask.size(0), self.kv_heads, q, s])

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

  # a per-query mask [B, 1, T, S] repeated for the G query heads folded into each KV head's rows
  def grouped(self: __torch__.freedave.TransformerCore, mask: Tensor) -> Tensor:
    g = self.heads // self.kv_heads
    if g > 1:
      return mask.repeat([1, 1, g, 1])
    return mask

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

  # the hidden states [B, T, d] of whole rows after every layer
  def stack(self: __torch__.freedave.TransformerCore, ids: Tensor, pos: Tensor, mask: Optional[Tensor], cos: Tensor,
            sin: Tensor, weights: List[Tensor]) -> Tensor:
    c = self.angles(cos, pos)
    s = self.angles(sin, pos)
    bias = self.bias(mask, weights[4].dtype, self.heads // self.kv_heads * ids.size(1))
    h = self.embed(ids, weights)
    for i in range(self.layers):
      h, k, v = self.layer(h, i, weights, c, s, None, None, 0, bias)
    return h

  # [B, T(query), T(key)]: whether each key's block (pos // block) is at or before its query's
  def block_causal(self: __torch__.freedave.TransformerCore, pos: Tensor, block: int) -> Tensor:
    blk = torch.div(pos, block, rounding_mode="floor")
    return torch.le(blk.unsqueeze(1), blk.unsqueeze(2))

  # the mask of a forward over whole rows: keep [B, T] masks padding keys when masked is true, and
  # block > 0 adds the block-causal pattern of the positions pos [B, T]
  def whole_rows_mask(self: __torch__.freedave.TransformerCore, pos: Tensor, keep: Tensor, masked: bool,
                      block: int) -> Optional[Tensor]:
    b = pos.size(0)
    t = pos.size(1)
    mask : Optional[Tensor] = None
    if masked:
      mask = torch.ne(keep, 0).view([b, 1, 1, t])
    if block > 0:
      causal = self.block_causal(pos, block).unsqueeze(1)
      if mask is not None:
        causal = causal & mask
      mask = self.grouped(causal)
    return mask

  # forward over whole rows (bidirectional, or block-causal with block > 0); logits [B, W, V]
  def full(self: __torch__.freedave.TransformerCore, ids: Tensor, pos: Tensor, keep: Tensor, masked: bool,
           block: int, out_index: Tensor, cos: Tensor, sin: Tensor, weights: List[Tensor]) -> Tensor:
    mask = self.whole_rows_mask(pos, keep, masked, block)
    return self.head(self.stack(ids, pos, mask, cos, sin, weights), out_index, weights)

  # full() that also returns every layer's rotated keys and values, [B, layers, Hkv, T, hd] each,
  # from which the caller freezes each row's block cache
  def fill(self: __torch__.freedave.TransformerCore, ids: Tensor, pos: Tensor, keep: Tensor, masked: bool,
           block: int, out_index: Tensor, cos: Tensor, sin: Tensor, weights: List[Tensor]) -> Tuple[Tensor, Tensor, Tensor]:
    t = ids.size(1)
    dt = weights[4].dtype
    mask = self.whole_rows_mask(pos, keep, masked, block)
    c = self.angles(cos, pos)
    s = self.angles(sin, pos)
    bias = self.bias(mask, dt, self.heads // self.kv_heads * t)
    h = self.embed(ids, weights)
    ks : List[Tensor] = []
    vs : List[Tensor] = []
    for i in range(self.layers):
      h, k, v = self.layer(h, i, weights, c, s, None, None, 0, bias)
      ks.append(k)
      vs.append(v)
    return self.head(h, out_index, weights), torch.stack(ks, 1), torch.stack(vs, 1)

  # Cached forward of R rows at once. ids, pos, draft [R, T]: each row's drafts' query windows back
  # to back, draft = the draft a query belongs to (-1 = padding). kcache/vcache: per row its frozen
  # [layers, Hkv, F_r, hd]; key_keep [R, F] (F >= every F_r) says which frozen keys a row's queries
  # see. A query sees those and the fresh keys of its own draft (block-diagonal over drafts; with
  # block > 0 only those of its own block and before). Returns the hidden states [R, T, d] and every
  # layer's fresh keys and values, [R, layers, Hkv, T, hd] each.
  # Two layouts of the keys, by measurement (docs/results.md, "Fewer ops per forward"): one row
  # attends over its cache concatenated with the fresh keys in every layer (its cache is read as it
  # is, no copy before the layers, and 2 ops a layer); several rows copy their caches once into one
  # buffer with room for the fresh keys, which every layer writes (4 ops a layer), because
  # concatenating several rows' frozen keys in every layer cost more than the ops saved (LLaDA-8B
  # shape, 8 rows x 1 draft: 15.4 ms with the buffer, 21.8 concatenating; 1 row x 1 draft: 12.0 with
  # the buffer, 9.5 concatenating).
  def cached_hidden(self: __torch__.freedave.TransformerCore, ids: Tensor, pos: Tensor, draft: Tensor,
                    key_keep: Tensor, block: int, kcache: List[Tensor], vcache: List[Tensor], cos: Tensor,
                    sin: Tensor, weights: List[Tensor], fresh_kv: bool) -> Tuple[Tensor, Tensor, Tensor]:
    r = ids.size(0)
    t = ids.size(1)
    f = key_keep.size(1)
    same = torch.eq(draft.unsqueeze(2), draft.unsqueeze(1)) & torch.ge(draft, 0).unsqueeze(1)
    if block > 0:
      same = same & self.block_causal(pos, block)
    fresh = same | torch.eye(t, dtype=11, device=ids.device).unsqueeze(0)
    mask = self.grouped(torch.cat([torch.ne(key_keep, 0).unsqueeze(1).expand([r, t, f]), fresh], 2).unsqueeze(1))
    c = self.angles(cos, pos)
    s = self.angles(sin, pos)
    h = self.embed(ids, weights)
    dt = weights[4].dtype
    bias = self.bias(mask, dt, self.heads // self.kv_heads * t)
    if r == 1 and kcache[0].size(2) == f:
      kf = kcache[0].unsqueeze(0).unbind(1)
      vf = vcache[0].unsqueeze(0).unbind(1)
      ks : List[Tensor] = []
      vs : List[Tensor] = []
      for i in range(self.layers):
        h, k, v = self.layer(h, i, weights, c, s, kf[i], vf[i], -1, bias)
        if fresh_kv:
          ks.append(k)
          vs.append(v)
      if not fresh_kv:
        return h, h, h # no fresh keys asked for: h stands in
      return h, torch.stack(ks, 1), torch.stack(vs, 1)
    # frozen keys of every row, then room for the fresh ones: [R, layers, Hkv, F + T, hd]
    equal = True
    for j in range(r):
      if kcache[j].size(2) != f:
        equal = False
    if equal:
      # rows frozen at one length (the decoders pad fills to a multiple of 128): one copy of all rows;
      # every element is written before it is read
      kbuf = torch.empty([r, self.layers, self.kv_heads, f + t, self.head_dim], dtype=dt, device=ids.device)
      vbuf = torch.empty([r, self.layers, self.kv_heads, f + t, self.head_dim], dtype=dt, device=ids.device)
      kbuf.narrow(3, 0, f).copy_(torch.stack(kcache))
      vbuf.narrow(3, 0, f).copy_(torch.stack(vcache))
    else:
      # rows of several lengths: copied row by row, the gaps zero (masked, but never NaN)
      kbuf = torch.zeros([r, self.layers, self.kv_heads, f + t, self.head_dim], dtype=dt, device=ids.device)
      vbuf = torch.zeros([r, self.layers, self.kv_heads, f + t, self.head_dim], dtype=dt, device=ids.device)
      for j in range(r):
        fr = kcache[j].size(2)
        kbuf[j].narrow(2, 0, fr).copy_(kcache[j])
        vbuf[j].narrow(2, 0, fr).copy_(vcache[j])
    kl = kbuf.unbind(1)
    vl = vbuf.unbind(1)
    for i in range(self.layers):
      h, k, v = self.layer(h, i, weights, c, s, kl[i], vl[i], f, bias)
    return h, kbuf.narrow(3, f, t), vbuf.narrow(3, f, t)

  # the logits [R, W, V] of a cached forward (see cached_hidden)
  def cached(self: __torch__.freedave.TransformerCore, ids: Tensor, pos: Tensor, draft: Tensor, key_keep: Tensor,
             block: int, kcache: List[Tensor], vcache: List[Tensor], out_index: Tensor, cos: Tensor, sin: Tensor,
             weights: List[Tensor]) -> Tensor:
    h, kf, vf = self.cached_hidden(ids, pos, draft, key_keep, block, kcache, vcache, cos, sin, weights, False)
    return self.head(h, out_index, weights)

  # cached() that also returns the fresh keys and values, [R, layers, Hkv, T, hd] each: what a
  # block-causal row appends to its cache once the block they belong to is finished, and what a
  # row filling its cache in this call freezes
  def cached_kv(self: __torch__.freedave.TransformerCore, ids: Tensor, pos: Tensor, draft: Tensor,
                key_keep: Tensor, block: int, kcache: List[Tensor], vcache: List[Tensor], out_index: Tensor,
                cos: Tensor, sin: Tensor, weights: List[Tensor]) -> Tuple[Tensor, Tensor, Tensor]:
    h, kf, vf = self.cached_hidden(ids, pos, draft, key_keep, block, kcache, vcache, cos, sin, weights, True)
    return self.head(h, out_index, weights), kf, vf

  # every position's logits with autograd (a trainer's forward: tensors only, keep always applied)
  def train_logits(self: __torch__.freedave.TransformerCore, ids: Tensor, pos: Tensor, keep: Tensor, cos: Tensor,
                   sin: Tensor, weights: List[Tensor]) -> Tensor:
    mask = torch.ne(keep, 0).view([ids.size(0), 1, 1, ids.size(1)])
    h = self.stack(ids, pos, mask, cos, sin, weights)
    return torch.linear(self.cast(self.norm(h, weights[1]), weights[2].dtype), weights[2]).float()
