/** The Spark API: the FreeDaveGenerator transformer, its per-partition function and the per-executor model holder. */
package dev.freedave.spark;
