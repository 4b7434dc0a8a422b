/** The test kit other modules' tests use: tiny checkpoints, the oracle model, fixture tokenizers and folders. */
package dev.freedave.testkit;
