/** The decoders (static, threshold, FreeDave, FreeDave++) as row state machines under one continuous-batching scheduler, without Spark. */
package dev.freedave.decode;
