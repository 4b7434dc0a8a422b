/** Model folders (config, checkpoint, tokenizer, TorchScript exports) and the forward pass that runs them on DJL's PyTorch engine. */
package dev.freedave.model;
