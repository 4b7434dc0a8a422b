/** The arithmetic demo model's data, tokenizer and masked-diffusion trainer. */
package dev.freedave.tools.train;
