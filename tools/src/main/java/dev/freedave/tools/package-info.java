/** The freedave command line: the job, benchmarks, forward cost, logits, checkpoint generators and the trainer. */
package dev.freedave.tools;
