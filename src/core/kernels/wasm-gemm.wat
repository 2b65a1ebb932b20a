;; Single-precision matrix product C = op(A) · op(B) on tfjs-wasm's own heap, for wasm-gemm.ts.
;; Compiled by config/build-wasm-kernels.ts into wasm-gemm-module.ts.
;;
;; Why not XNNPACK (tfjs-wasm's products): on V8, XNNPACK's 128-bit kernels reach ~30 GFLOP/s on
;; this project's machines, while a 2 × 16 register tile (8 accumulators, which V8's register
;; allocator keeps in registers; 4- and 6-row tiles measured slower: they spill) reaches ~40.
;; Operands are addressed through strides, so a transposed operand is packed as it is read,
;; never copied whole.
;;
;; Blocking: the shared dimension in blocks of KC = 256; rows in chunks whose packed block fits
;; 128 KiB; B's block packed once per k block into 16-column panels when it fits 512 KiB, else one
;; panel at a time. Sums run over k in order within a block, blocks added to C in order.
;; Workspace (ws): 128 KiB packed A, 512 KiB packed B, 128 bytes for an edge tile.
(module
  (import "e" "m" (memory 1 65536))

  ;; Two rows of A, k0 … k0+kc−1, as [k][2]; a missing second row is packed as zeros.
  (func $packA (param $src i32) (param $sI i32) (param $sK i32) (param $dst i32) (param $rows i32) (param $kc i32)
    (local $src2 i32)
    (local.set $src2 (i32.add (local.get $src) (local.get $sI)))
    (loop $k
      (f32.store (local.get $dst) (f32.load (local.get $src)))
      (f32.store offset=4 (local.get $dst)
        (if (result f32) (i32.eq (local.get $rows) (i32.const 2))
          (then (f32.load (local.get $src2)))
          (else (f32.const 0))))
      (local.set $src (i32.add (local.get $src) (local.get $sK)))
      (local.set $src2 (i32.add (local.get $src2) (local.get $sK)))
      (local.set $dst (i32.add (local.get $dst) (i32.const 8)))
      (br_if $k (local.tee $kc (i32.sub (local.get $kc) (i32.const 1))))))

  ;; Up to 16 columns of B, kc rows, as [k][16]; columns past `cols` are zeros.
  (func $packB (param $src i32) (param $sK i32) (param $sJ i32) (param $dst i32) (param $kc i32) (param $cols i32)
    (local $c i32) (local $s i32)
    (if (i32.and (i32.eq (local.get $sJ) (i32.const 4)) (i32.eq (local.get $cols) (i32.const 16)))
      (then
        (loop $k
          (v128.store (local.get $dst) (v128.load (local.get $src)))
          (v128.store offset=16 (local.get $dst) (v128.load offset=16 (local.get $src)))
          (v128.store offset=32 (local.get $dst) (v128.load offset=32 (local.get $src)))
          (v128.store offset=48 (local.get $dst) (v128.load offset=48 (local.get $src)))
          (local.set $src (i32.add (local.get $src) (local.get $sK)))
          (local.set $dst (i32.add (local.get $dst) (i32.const 64)))
          (br_if $k (local.tee $kc (i32.sub (local.get $kc) (i32.const 1)))))
        (return)))
    (loop $k
      (v128.store (local.get $dst) (v128.const i32x4 0 0 0 0))
      (v128.store offset=16 (local.get $dst) (v128.const i32x4 0 0 0 0))
      (v128.store offset=32 (local.get $dst) (v128.const i32x4 0 0 0 0))
      (v128.store offset=48 (local.get $dst) (v128.const i32x4 0 0 0 0))
      (local.set $c (i32.const 0))
      (local.set $s (local.get $src))
      (loop $col
        (f32.store (i32.add (local.get $dst) (i32.shl (local.get $c) (i32.const 2))) (f32.load (local.get $s)))
        (local.set $s (i32.add (local.get $s) (local.get $sJ)))
        (br_if $col (i32.lt_u (local.tee $c (i32.add (local.get $c) (i32.const 1))) (local.get $cols))))
      (local.set $src (i32.add (local.get $src) (local.get $sK)))
      (local.set $dst (i32.add (local.get $dst) (i32.const 64)))
      (br_if $k (local.tee $kc (i32.sub (local.get $kc) (i32.const 1))))))

  ;; One 2 × 16 tile of C from packed A (ap) and a packed panel (bp): stored, or added to C when
  ;; `acc`; an edge tile (fewer rows or columns) goes through `tmp`.
  (func $tile (param $ap0 i32) (param $a1 i32) (param $sa i32) (param $ps i32) (param $bp0 i32) (param $kc0 i32) (param $cp i32) (param $ldc i32)
              (param $mc i32) (param $cols i32) (param $acc i32) (param $tmp i32)
    (local $c00 v128) (local $c01 v128) (local $c02 v128) (local $c03 v128)
    (local $c10 v128) (local $c11 v128) (local $c12 v128) (local $c13 v128)
    (local $b0 v128) (local $b1 v128) (local $b2 v128) (local $b3 v128) (local $a v128) (local $dst i32)
    (local $bp i32) (local $kc i32) (local $rows i32) (local $ap i32) (local $ap1 i32)
    (loop $pair
    (local.set $rows (call $min (i32.const 2) (local.get $mc)))
    (local.set $ap (local.get $ap0))
    ;; A lone last row reads itself as its pair: the second row's sums are never stored.
    (local.set $ap1 (i32.add (local.get $ap0) (select (local.get $a1) (i32.const 0) (i32.eq (local.get $rows) (i32.const 2)))))
    (local.set $bp (local.get $bp0))
    (local.set $kc (local.get $kc0))
    (local.set $c00 (v128.const i32x4 0 0 0 0)) (local.set $c01 (v128.const i32x4 0 0 0 0)) (local.set $c02 (v128.const i32x4 0 0 0 0)) (local.set $c03 (v128.const i32x4 0 0 0 0))
    (local.set $c10 (v128.const i32x4 0 0 0 0)) (local.set $c11 (v128.const i32x4 0 0 0 0)) (local.set $c12 (v128.const i32x4 0 0 0 0)) (local.set $c13 (v128.const i32x4 0 0 0 0))
    (block $stored
    (loop $k
      (local.set $b0 (v128.load (local.get $bp)))
      (local.set $b1 (v128.load offset=16 (local.get $bp)))
      (local.set $b2 (v128.load offset=32 (local.get $bp)))
      (local.set $b3 (v128.load offset=48 (local.get $bp)))
      (local.set $a (v128.load32_splat (local.get $ap)))
      (local.set $c00 (f32x4.add (local.get $c00) (f32x4.mul (local.get $a) (local.get $b0))))
      (local.set $c01 (f32x4.add (local.get $c01) (f32x4.mul (local.get $a) (local.get $b1))))
      (local.set $c02 (f32x4.add (local.get $c02) (f32x4.mul (local.get $a) (local.get $b2))))
      (local.set $c03 (f32x4.add (local.get $c03) (f32x4.mul (local.get $a) (local.get $b3))))
      (local.set $a (v128.load32_splat (local.get $ap1)))
      (local.set $c10 (f32x4.add (local.get $c10) (f32x4.mul (local.get $a) (local.get $b0))))
      (local.set $c11 (f32x4.add (local.get $c11) (f32x4.mul (local.get $a) (local.get $b1))))
      (local.set $c12 (f32x4.add (local.get $c12) (f32x4.mul (local.get $a) (local.get $b2))))
      (local.set $c13 (f32x4.add (local.get $c13) (f32x4.mul (local.get $a) (local.get $b3))))
      (local.set $ap (i32.add (local.get $ap) (local.get $sa)))
      (local.set $ap1 (i32.add (local.get $ap1) (local.get $sa)))
      (local.set $bp (i32.add (local.get $bp) (i32.const 64)))
      (br_if $k (local.tee $kc (i32.sub (local.get $kc) (i32.const 1)))))
    (if (i32.and (i32.eq (local.get $rows) (i32.const 2)) (i32.eq (local.get $cols) (i32.const 16)))
      (then
        (local.set $dst (i32.add (local.get $cp) (local.get $ldc)))
        (if (local.get $acc)
          (then
            (local.set $c00 (f32x4.add (v128.load (local.get $cp)) (local.get $c00)))
            (local.set $c01 (f32x4.add (v128.load offset=16 (local.get $cp)) (local.get $c01)))
            (local.set $c02 (f32x4.add (v128.load offset=32 (local.get $cp)) (local.get $c02)))
            (local.set $c03 (f32x4.add (v128.load offset=48 (local.get $cp)) (local.get $c03)))
            (local.set $c10 (f32x4.add (v128.load (local.get $dst)) (local.get $c10)))
            (local.set $c11 (f32x4.add (v128.load offset=16 (local.get $dst)) (local.get $c11)))
            (local.set $c12 (f32x4.add (v128.load offset=32 (local.get $dst)) (local.get $c12)))
            (local.set $c13 (f32x4.add (v128.load offset=48 (local.get $dst)) (local.get $c13)))))
        (v128.store (local.get $cp) (local.get $c00))
        (v128.store offset=16 (local.get $cp) (local.get $c01))
        (v128.store offset=32 (local.get $cp) (local.get $c02))
        (v128.store offset=48 (local.get $cp) (local.get $c03))
        (v128.store (local.get $dst) (local.get $c10))
        (v128.store offset=16 (local.get $dst) (local.get $c11))
        (v128.store offset=32 (local.get $dst) (local.get $c12))
        (v128.store offset=48 (local.get $dst) (local.get $c13))
        (br $stored)))
    (call $edge (local.get $c00) (local.get $c01) (local.get $c02) (local.get $c03) (local.get $c10) (local.get $c11) (local.get $c12) (local.get $c13)
      (local.get $cp) (local.get $ldc) (local.get $rows) (local.get $cols) (local.get $acc) (local.get $tmp)))
    (local.set $cp (i32.add (local.get $cp) (i32.shl (local.get $ldc) (i32.const 1))))
    (local.set $ap0 (i32.add (local.get $ap0) (local.get $ps)))
    (br_if $pair (i32.gt_s (local.tee $mc (i32.sub (local.get $mc) (i32.const 2))) (i32.const 0)))))

  ;; An edge tile's rows × cols corner of the 2 × 16 sums, through tmp.
  (func $edge (param $c00 v128) (param $c01 v128) (param $c02 v128) (param $c03 v128)
              (param $c10 v128) (param $c11 v128) (param $c12 v128) (param $c13 v128)
              (param $cp i32) (param $ldc i32) (param $rows i32) (param $cols i32) (param $acc i32) (param $tmp i32)
    (local $r i32) (local $c i32) (local $dst i32) (local $src i32)
    (v128.store (local.get $tmp) (local.get $c00))
    (v128.store offset=16 (local.get $tmp) (local.get $c01))
    (v128.store offset=32 (local.get $tmp) (local.get $c02))
    (v128.store offset=48 (local.get $tmp) (local.get $c03))
    (v128.store offset=64 (local.get $tmp) (local.get $c10))
    (v128.store offset=80 (local.get $tmp) (local.get $c11))
    (v128.store offset=96 (local.get $tmp) (local.get $c12))
    (v128.store offset=112 (local.get $tmp) (local.get $c13))
    (loop $row
      (local.set $c (i32.const 0))
      (loop $col
        (local.set $dst (i32.add (local.get $cp) (i32.shl (local.get $c) (i32.const 2))))
        (local.set $src (i32.add (local.get $tmp) (i32.shl (i32.add (i32.shl (local.get $r) (i32.const 4)) (local.get $c)) (i32.const 2))))
        (f32.store (local.get $dst)
          (if (result f32) (local.get $acc)
            (then (f32.add (f32.load (local.get $dst)) (f32.load (local.get $src))))
            (else (f32.load (local.get $src)))))
        (br_if $col (i32.lt_u (local.tee $c (i32.add (local.get $c) (i32.const 1))) (local.get $cols))))
      (local.set $cp (i32.add (local.get $cp) (local.get $ldc)))
      (br_if $row (i32.lt_u (local.tee $r (i32.add (local.get $r) (i32.const 1))) (local.get $rows)))))

  (func $min (param $a i32) (param $b i32) (result i32)
    (select (local.get $a) (local.get $b) (i32.lt_u (local.get $a) (local.get $b))))

  ;; C[i, j] = Σ_k A(i, k) · B(k, j) for i < M, j < N, k < K (all ≥ 1), with A(i, k) at
  ;; A + i·sAi + k·sAk, B(k, j) at B + k·sBk + j·sBj, C(i, j) at C + i·ldc + 4j (strides in bytes);
  ;; with accumulate ≠ 0, C += that sum.
  (func (export "gemm") (param $A i32) (param $sAi i32) (param $sAk i32) (param $B i32) (param $sBk i32) (param $sBj i32)
                        (param $C i32) (param $ldc i32) (param $M i32) (param $K i32) (param $N i32) (param $ws i32) (param $accumulate i32)
    (local $Bp i32) (local $tmp i32) (local $k0 i32) (local $kc i32) (local $acc i32) (local $MC i32)
    (local $whole i32) (local $i0 i32) (local $mc i32) (local $pairs i32) (local $p i32) (local $j0 i32)
    (local $cols i32) (local $panel i32) (local $direct i32)
    ;; A read in place (no packing) where few panels reuse it: packing costs more than it saves.
    (local.set $direct (i32.or (i32.le_u (local.get $N) (i32.const 64))
      (i32.and (i32.le_u (local.get $N) (i32.const 128)) (i32.le_u (local.get $K) (i32.const 256)))))
    (local.set $Bp (i32.add (local.get $ws) (i32.const 131072)))
    (local.set $tmp (i32.add (local.get $Bp) (i32.const 524288)))
    (loop $kblock
      (local.set $kc (call $min (i32.const 256) (i32.sub (local.get $K) (local.get $k0))))
      (local.set $acc (i32.or (i32.ne (local.get $k0) (i32.const 0)) (local.get $accumulate)))
      (local.set $MC (i32.and (i32.div_u (i32.const 32768) (local.get $kc)) (i32.const -2)))
      (local.set $whole (i32.le_u
        (i32.mul (i32.mul (local.get $kc) (i32.shr_u (i32.add (local.get $N) (i32.const 15)) (i32.const 4))) (i32.const 64))
        (i32.const 524288)))
      (if (local.get $whole)
        (then
          (local.set $j0 (i32.const 0))
          (loop $pack
            (call $packB
              (i32.add (local.get $B) (i32.add (i32.mul (local.get $k0) (local.get $sBk)) (i32.mul (local.get $j0) (local.get $sBj))))
              (local.get $sBk) (local.get $sBj)
              (i32.add (local.get $Bp) (i32.shl (i32.mul (local.get $j0) (local.get $kc)) (i32.const 2)))
              (local.get $kc) (call $min (i32.const 16) (i32.sub (local.get $N) (local.get $j0))))
            (br_if $pack (i32.lt_u (local.tee $j0 (i32.add (local.get $j0) (i32.const 16))) (local.get $N))))))
      (local.set $i0 (i32.const 0))
      (loop $chunk
        (local.set $mc (call $min (local.get $MC) (i32.sub (local.get $M) (local.get $i0))))
        (local.set $pairs (i32.shr_u (i32.add (local.get $mc) (i32.const 1)) (i32.const 1)))
        (if (i32.eqz (local.get $direct)) (then
        (local.set $p (i32.const 0))
        (loop $packRows
          (call $packA
            (i32.add (local.get $A) (i32.add
              (i32.mul (i32.add (local.get $i0) (i32.shl (local.get $p) (i32.const 1))) (local.get $sAi))
              (i32.mul (local.get $k0) (local.get $sAk))))
            (local.get $sAi) (local.get $sAk)
            (i32.add (local.get $ws) (i32.shl (i32.mul (local.get $p) (local.get $kc)) (i32.const 3)))
            (call $min (i32.const 2) (i32.sub (local.get $mc) (i32.shl (local.get $p) (i32.const 1))))
            (local.get $kc))
          (br_if $packRows (i32.lt_u (local.tee $p (i32.add (local.get $p) (i32.const 1))) (local.get $pairs))))))
        (local.set $j0 (i32.const 0))
        (loop $cols
          (local.set $cols (call $min (i32.const 16) (i32.sub (local.get $N) (local.get $j0))))
          (if (local.get $whole)
            (then (local.set $panel (i32.add (local.get $Bp) (i32.shl (i32.mul (local.get $j0) (local.get $kc)) (i32.const 2)))))
            (else
              (call $packB
                (i32.add (local.get $B) (i32.add (i32.mul (local.get $k0) (local.get $sBk)) (i32.mul (local.get $j0) (local.get $sBj))))
                (local.get $sBk) (local.get $sBj) (local.get $Bp) (local.get $kc) (local.get $cols))
              (local.set $panel (local.get $Bp))))
          (if (local.get $direct)
            (then (call $tile
              (i32.add (local.get $A) (i32.add (i32.mul (local.get $i0) (local.get $sAi)) (i32.mul (local.get $k0) (local.get $sAk))))
              (local.get $sAi) (local.get $sAk) (i32.shl (local.get $sAi) (i32.const 1)) (local.get $panel) (local.get $kc)
              (i32.add (local.get $C) (i32.add (i32.mul (local.get $i0) (local.get $ldc)) (i32.shl (local.get $j0) (i32.const 2))))
              (local.get $ldc) (local.get $mc) (local.get $cols) (local.get $acc) (local.get $tmp)))
            (else
          (call $tile (local.get $ws) (i32.const 4) (i32.const 8) (i32.shl (local.get $kc) (i32.const 3)) (local.get $panel) (local.get $kc)
            (i32.add (local.get $C) (i32.add (i32.mul (local.get $i0) (local.get $ldc)) (i32.shl (local.get $j0) (i32.const 2))))
            (local.get $ldc) (local.get $mc) (local.get $cols) (local.get $acc) (local.get $tmp))))
          (br_if $cols (i32.lt_u (local.tee $j0 (i32.add (local.get $j0) (i32.const 16))) (local.get $N))))
        (br_if $chunk (i32.lt_u (local.tee $i0 (i32.add (local.get $i0) (local.get $mc))) (local.get $M))))
      (br_if $kblock (i32.lt_u (local.tee $k0 (i32.add (local.get $k0) (local.get $kc))) (local.get $K))))))
