/**
 * Typed errors of the engine. Each message names the file, tensor or setting at fault so a user
 * can act on it without reading a stack trace.
 */
export class EngineError extends Error {
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

/** A .safetensors file (or its index) that cannot be parsed. */
export class SafetensorsError extends EngineError {}

/** config.json describes something the engine cannot run. */
export class UnsupportedModelError extends EngineError {}

/** A tensor the architecture needs is absent from the weights. */
export class MissingTensorError extends EngineError {}

/** A tensor is present but its shape differs from what config.json implies. */
export class TensorShapeError extends EngineError {}

/** Tokenizer files are missing, malformed or inconsistent with the model. */
export class TokenizerError extends EngineError {}

/** A model source (directory, URL, Hub repo, picked files) does not provide what is needed. */
export class ModelSourceError extends EngineError {}

/** A call into the engine with arguments that cannot work (empty batch, mismatched lengths...). */
export class EngineInputError extends EngineError {}
