// The requests the checksums threads serve (imported by both sides).
import { Schema } from "effect"

/** The file could not be read (missing, a directory, no permission, …). */
export class ReadFailed extends Schema.TaggedError<ReadFailed>()("ReadFailed", {
  path: Schema.String,
  message: Schema.String
}) {}

/** SHA-256 of one file, read and hashed on the thread. */
export class HashFile extends Schema.TaggedRequest<HashFile>()("HashFile", {
  failure: ReadFailed,
  success: Schema.Struct({ hex: Schema.String, bytes: Schema.Number }),
  payload: { path: Schema.String }
}) {}
