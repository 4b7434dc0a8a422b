/** One partition of prompts to one output row each: templating, tokenizing, decoding, the static audit and the output columns, without Spark. */
package dev.freedave.generate;
