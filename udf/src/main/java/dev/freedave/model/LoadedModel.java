package dev.freedave.model;

import dev.freedave.text.TextCodec;

/** A model and its folder's tokenizer: what decodes a partition. */
public record LoadedModel(DiffusionLM model, TextCodec codec) implements AutoCloseable {
  @Override
  public void close() {
    model.close();
    codec.close();
  }
}
