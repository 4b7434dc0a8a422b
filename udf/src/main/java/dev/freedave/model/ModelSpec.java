package dev.freedave.model;

import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * What a decoder needs to know about a model besides its forward pass.
 *
 * @param maskTokenId the id that marks a position still to be generated
 * @param endTokenIds ids that end an answer (EOS, end-of-turn); empty disables early exit
 * @param predictionOffset 0: position p is predicted by logits[p]; 1 (Dream): by logits[p-1]
 * @param maxSequenceLength prompt + generation must fit in this many positions
 * @param blockCausal attention is causal across blocks of the decoder's block length, bidirectional
 *     inside one (SDAR): blocks then sit at absolute positions, and a finished block's cache is exact
 */
public record ModelSpec(int vocabSize, int maskTokenId, List<Integer> endTokenIds, int predictionOffset,
    int maxSequenceLength, boolean blockCausal) {

  public ModelSpec {
    endTokenIds = List.copyOf(endTokenIds);
    if (maskTokenId < 0 || maskTokenId >= vocabSize) {
      throw new ModelLoadException("mask token id " + maskTokenId + " is outside the vocabulary [0, " + vocabSize
          + "); set mask_token_id in config.json");
    }
    if (predictionOffset != 0 && predictionOffset != 1) {
      throw new IllegalArgumentException("prediction offset must be 0 or 1, got " + predictionOffset);
    }
  }

  /** A fully bidirectional model's spec. */
  public ModelSpec(int vocabSize, int maskTokenId, List<Integer> endTokenIds, int predictionOffset,
      int maxSequenceLength) {
    this(vocabSize, maskTokenId, endTokenIds, predictionOffset, maxSequenceLength, false);
  }

  public static ModelSpec of(ModelConfig c) {
    return new ModelSpec(c.vocabSize(), c.maskTokenId(), c.eosTokenIds(), c.predictionOffset(), c.maxSequenceLength(),
        c.family().blockCausal);
  }

  /**
   * These ids completed by the tokenizer's added tokens: the family's end-of-turn token ends an
   * answer like EOS does, and a tokenizer whose mask token disagrees with the model's is refused
   * before any work.
   *
   * @param addedTokens the tokenizer's added tokens, content to id (empty: nothing changes)
   */
  public ModelSpec withAddedTokens(Map<String, Integer> addedTokens, ModelFamily family) {
    Integer mask = addedTokens.get(family.maskTokenName);
    if (mask != null && mask != maskTokenId) {
      throw new ModelLoadException("the model's mask_token_id is " + maskTokenId + " but the tokenizer's "
          + family.maskTokenName + " is " + mask + "; config and tokenizer are from different models");
    }
    Set<Integer> ends = new LinkedHashSet<>(endTokenIds);
    Integer endOfTurn = addedTokens.get(family.endOfTurnToken);
    if (endOfTurn != null) {
      ends.add(endOfTurn);
    }
    return new ModelSpec(vocabSize, maskTokenId, List.copyOf(ends), predictionOffset, maxSequenceLength, blockCausal);
  }

  /** These ids with one more end token (the tokenizer files' eos_token). */
  public ModelSpec withEndToken(int id) {
    Set<Integer> ends = new LinkedHashSet<>(endTokenIds);
    ends.add(id);
    return new ModelSpec(vocabSize, maskTokenId, List.copyOf(ends), predictionOffset, maxSequenceLength, blockCausal);
  }

  public boolean isEnd(int token) {
    return endTokenIds.contains(token);
  }

  /** Index of the first end token in {@code tokens}, or its length: where the answer text stops. */
  public int answerLength(int[] tokens) {
    int end = 0;
    while (end < tokens.length && !isEnd(tokens[end])) {
      end++;
    }
    return end;
  }
}
