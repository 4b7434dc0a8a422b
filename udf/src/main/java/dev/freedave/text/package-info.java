/** Tokenizers from a model folder's own files, tokenizer.json writers and the chat templates. */
package dev.freedave.text;
