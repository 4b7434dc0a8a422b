/** The spark-submit application: configuration, input reading, one transform per decoder config, Parquet, resume and the run summary. */
package dev.freedave.job;
