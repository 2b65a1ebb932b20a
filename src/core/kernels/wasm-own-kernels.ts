/** Which of this project's WebAssembly kernels run on the active wasm backend, for the backend report. */
import { wasmFusedAvailable } from './wasm-fused';
import { wasmGemmAvailable } from './wasm-gemm';

/** 'products' (wasm-gemm.ts: one-thread wasm only) and 'fused chains' (wasm-fused.ts), where they link. */
export function wasmOwnKernels(): string[] {
  return [...(wasmGemmAvailable() ? ['products'] : []), ...(wasmFusedAvailable() ? ['fused chains'] : [])];
}
