package dev.freedave.decode;

/**
 * One row to decode.
 *
 * @param id the caller's row id, echoed in the result
 * @param prompt prompt token ids (already templated and tokenized)
 * @param seed seeds the sampling noise when the temperature is above 0
 */
public record DecodeRequest(String id, int[] prompt, DecodeConfig config, long seed) {}
