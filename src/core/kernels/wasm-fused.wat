;; Fused elementwise chains of the Llama layer on tfjs-wasm's own heap, for wasm-fused.ts:
;; SwiGLU and its gradient, RMSNorm and its gradient, softmax's gradient, a row gather, and the
;; log-prob head (each row's target log-prob, entropy and log-sum-exp) with its gradient. Each
;; is one pass (or one pass per row) where tfjs-wasm runs 3–9 kernels that each read and write
;; the whole tensor; 4 lanes at a time, a scalar tail where a length is not a multiple of 4.
;; Compiled by config/build-wasm-kernels.ts into wasm-fused-module.ts.
(module
  (import "e" "m" (memory 1 65536))
  (import "e" "log" (func $log (param f64) (result f64)))


;; SwiGLU's chains take sigmoid(g) from tfjs-wasm's own Sigmoid (XNNPACK's, faster than a
;; polynomial exp here) and run the same float operations in the same order as the tf-op chains
;; (layers.ts, attention-grad.ts): their results are equal bit for bit.

  (func $hsum (param $v v128) (result f32)
    (f32.add (f32.add (f32x4.extract_lane 0 (local.get $v)) (f32x4.extract_lane 1 (local.get $v)))
             (f32.add (f32x4.extract_lane 2 (local.get $v)) (f32x4.extract_lane 3 (local.get $v)))))

  ;; out = (g · s) · u over n floats, s = sigmoid(g).
  (func (export "swiglu") (param $g i32) (param $s i32) (param $u i32) (param $o i32) (param $n i32)
    (local $off i32) (local $n4 i32)
    (local.set $n4 (i32.shl (i32.and (local.get $n) (i32.const -4)) (i32.const 2)))
    (local.set $n (i32.shl (local.get $n) (i32.const 2)))
    (block $done (loop $v
      (br_if $done (i32.ge_u (local.get $off) (local.get $n4)))
      (v128.store (i32.add (local.get $o) (local.get $off))
        (f32x4.mul (f32x4.mul (v128.load (i32.add (local.get $g) (local.get $off))) (v128.load (i32.add (local.get $s) (local.get $off))))
          (v128.load (i32.add (local.get $u) (local.get $off)))))
      (local.set $off (i32.add (local.get $off) (i32.const 16)))
      (br $v)))
    (block $tailDone (loop $t
      (br_if $tailDone (i32.ge_u (local.get $off) (local.get $n)))
      (f32.store (i32.add (local.get $o) (local.get $off))
        (f32.mul (f32.mul (f32.load (i32.add (local.get $g) (local.get $off))) (f32.load (i32.add (local.get $s) (local.get $off))))
          (f32.load (i32.add (local.get $u) (local.get $off)))))
      (local.set $off (i32.add (local.get $off) (i32.const 4)))
      (br $t))))

  ;; Gradients of (g · s) · u with s = sigmoid(g): silu = g · s, du = dy · silu,
  ;; dg = (dy · u) · (s + silu · (1 − s)); four lanes at a time, then one.
  (func (export "swigluGrad") (param $g i32) (param $s i32) (param $u i32) (param $dy i32) (param $dg i32) (param $du i32) (param $n i32)
    (local $i i32) (local $n4 i32) (local $off i32) (local $sv v128) (local $dyv v128) (local $silu v128)
    (local $sf f32) (local $dyf f32) (local $siluf f32)
    (local.set $n4 (i32.shl (i32.and (local.get $n) (i32.const -4)) (i32.const 2)))
    (local.set $n (i32.shl (local.get $n) (i32.const 2)))
    (block $done (loop $v
      (br_if $done (i32.ge_u (local.get $off) (local.get $n4)))
      (local.set $sv (v128.load (i32.add (local.get $s) (local.get $off))))
      (local.set $dyv (v128.load (i32.add (local.get $dy) (local.get $off))))
      (local.set $silu (f32x4.mul (v128.load (i32.add (local.get $g) (local.get $off))) (local.get $sv)))
      (v128.store (i32.add (local.get $du) (local.get $off)) (f32x4.mul (local.get $dyv) (local.get $silu)))
      (v128.store (i32.add (local.get $dg) (local.get $off))
        (f32x4.mul (f32x4.mul (local.get $dyv) (v128.load (i32.add (local.get $u) (local.get $off))))
          (f32x4.add (local.get $sv) (f32x4.mul (local.get $silu) (f32x4.sub (v128.const f32x4 1 1 1 1) (local.get $sv))))))
      (local.set $off (i32.add (local.get $off) (i32.const 16)))
      (br $v)))
    (block $tailDone (loop $t
      (br_if $tailDone (i32.ge_u (local.get $off) (local.get $n)))
      (local.set $sf (f32.load (i32.add (local.get $s) (local.get $off))))
      (local.set $dyf (f32.load (i32.add (local.get $dy) (local.get $off))))
      (local.set $siluf (f32.mul (f32.load (i32.add (local.get $g) (local.get $off))) (local.get $sf)))
      (f32.store (i32.add (local.get $du) (local.get $off)) (f32.mul (local.get $dyf) (local.get $siluf)))
      (f32.store (i32.add (local.get $dg) (local.get $off))
        (f32.mul (f32.mul (local.get $dyf) (f32.load (i32.add (local.get $u) (local.get $off))))
          (f32.add (local.get $sf) (f32.mul (local.get $siluf) (f32.sub (f32.const 1) (local.get $sf))))))
      (local.set $off (i32.add (local.get $off) (i32.const 4)))
      (br $t))))

  ;; e^x in each f32 lane: Cephes' expf (x/ln 2 rounded to n, a degree-6 polynomial on the rest,
  ;; 2^n added to the exponent bits), within ~2 ulp. Inputs are clamped to [-87, 88.7]: below,
  ;; it returns e^-87 ≈ 1.6e-38 rather than a smaller number (2^n would leave the normal range).
  ;; NaN stays NaN. About 4× tfjs-wasm's scalar Exp here.
  (func $exp4 (param $x v128) (result v128)
    (local $n v128) (local $r v128) (local $p v128) (local $t v128)
    (local.set $x (f32x4.pmin (f32x4.pmax (local.get $x) (v128.const f32x4 -87 -87 -87 -87)) (v128.const f32x4 88.7 88.7 88.7 88.7)))
    ;; Adding 1.5·2^23 rounds x/ln 2 to the nearest integer n in the low mantissa bits: subtracted
    ;; back it is n as a float; the bits minus 0x4B400000 are n as an integer.
    (local.set $t (f32x4.add (f32x4.mul (local.get $x) (v128.const f32x4 1.44269504088896341 1.44269504088896341 1.44269504088896341 1.44269504088896341))
      (v128.const f32x4 12582912 12582912 12582912 12582912)))
    (local.set $n (f32x4.sub (local.get $t) (v128.const f32x4 12582912 12582912 12582912 12582912)))
    (local.set $r (f32x4.sub (local.get $x) (f32x4.mul (local.get $n) (v128.const f32x4 0.693359375 0.693359375 0.693359375 0.693359375))))
    (local.set $r (f32x4.add (local.get $r) (f32x4.mul (local.get $n) (v128.const f32x4 2.12194440e-4 2.12194440e-4 2.12194440e-4 2.12194440e-4))))
    (local.set $p (f32x4.add (f32x4.mul (v128.const f32x4 1.9875691500e-4 1.9875691500e-4 1.9875691500e-4 1.9875691500e-4) (local.get $r))
      (v128.const f32x4 1.3981999507e-3 1.3981999507e-3 1.3981999507e-3 1.3981999507e-3)))
    (local.set $p (f32x4.add (f32x4.mul (local.get $p) (local.get $r)) (v128.const f32x4 8.3334519073e-3 8.3334519073e-3 8.3334519073e-3 8.3334519073e-3)))
    (local.set $p (f32x4.add (f32x4.mul (local.get $p) (local.get $r)) (v128.const f32x4 4.1665795894e-2 4.1665795894e-2 4.1665795894e-2 4.1665795894e-2)))
    (local.set $p (f32x4.add (f32x4.mul (local.get $p) (local.get $r)) (v128.const f32x4 1.6666665459e-1 1.6666665459e-1 1.6666665459e-1 1.6666665459e-1)))
    (local.set $p (f32x4.add (f32x4.mul (local.get $p) (local.get $r)) (v128.const f32x4 5.0000001201e-1 5.0000001201e-1 5.0000001201e-1 5.0000001201e-1)))
    (local.set $p (f32x4.add (f32x4.add (f32x4.mul (f32x4.mul (local.get $p) (local.get $r)) (local.get $r)) (local.get $r))
      (v128.const f32x4 1 1 1 1)))
    (i32x4.add (local.get $p) (i32x4.shl (i32x4.sub (local.get $t) (v128.const i32x4 0x4B400000 0x4B400000 0x4B400000 0x4B400000)) (i32.const 23))))

  ;; Per row of V logits x (scaled by invT = 1 / temperature): out[row] = (x_t·invT − lse, H, lse)
  ;; with lse = m + log Σ e, e = exp(s − m), m the row max, H = log Σ e − Σ e·(s − m) / Σ e (offsets
  ;; from the max: a peaked row does not lose its entropy to cancellation). t = targets[row]; a
  ;; target outside [0, V) gives NaN.
  (func (export "headStats") (param $x i32) (param $targets i32) (param $out i32) (param $N i32) (param $V i32) (param $invT f32)
    (local $c i32) (local $off i32) (local $m4 v128) (local $m f32) (local $d v128) (local $e v128)
    (local $sum4 v128) (local $dsum4 v128) (local $sum f32) (local $dsum f32) (local $logSum f32) (local $t i32)
    (local $inv4 v128) (local $V4 i32) (local $rowBytes i32)
    (local.set $inv4 (f32x4.splat (local.get $invT)))
    (local.set $V4 (i32.shl (i32.and (local.get $V) (i32.const -4)) (i32.const 2)))
    (local.set $rowBytes (i32.shl (local.get $V) (i32.const 2)))
    (block $done (loop $row
      (br_if $done (i32.eqz (local.get $N)))
      ;; The row max, of the scaled logits.
      (local.set $m4 (v128.const f32x4 -inf -inf -inf -inf))
      (local.set $off (i32.const 0))
      (block $d1 (loop $l1
        (br_if $d1 (i32.ge_u (local.get $off) (local.get $V4)))
        (local.set $m4 (f32x4.max (local.get $m4) (f32x4.mul (v128.load (i32.add (local.get $x) (local.get $off))) (local.get $inv4))))
        (local.set $off (i32.add (local.get $off) (i32.const 16)))
        (br $l1)))
      (local.set $m (f32.max (f32.max (f32x4.extract_lane 0 (local.get $m4)) (f32x4.extract_lane 1 (local.get $m4)))
                             (f32.max (f32x4.extract_lane 2 (local.get $m4)) (f32x4.extract_lane 3 (local.get $m4)))))
      (block $d1t (loop $l1t
        (br_if $d1t (i32.ge_u (local.get $off) (local.get $rowBytes)))
        (local.set $m (f32.max (local.get $m) (f32.mul (f32.load (i32.add (local.get $x) (local.get $off))) (local.get $invT))))
        (local.set $off (i32.add (local.get $off) (i32.const 4)))
        (br $l1t)))
      ;; Σ e and Σ e·(s − m).
      (local.set $sum4 (v128.const i32x4 0 0 0 0))
      (local.set $dsum4 (v128.const i32x4 0 0 0 0))
      (local.set $m4 (f32x4.splat (local.get $m)))
      (local.set $off (i32.const 0))
      (block $d2 (loop $l2
        (br_if $d2 (i32.ge_u (local.get $off) (local.get $V4)))
        (local.set $d (f32x4.sub (f32x4.mul (v128.load (i32.add (local.get $x) (local.get $off))) (local.get $inv4)) (local.get $m4)))
        (local.set $e (call $exp4 (local.get $d)))
        (local.set $sum4 (f32x4.add (local.get $sum4) (local.get $e)))
        (local.set $dsum4 (f32x4.add (local.get $dsum4) (f32x4.mul (local.get $e) (local.get $d))))
        (local.set $off (i32.add (local.get $off) (i32.const 16)))
        (br $l2)))
      (local.set $sum (call $hsum (local.get $sum4)))
      (local.set $dsum (call $hsum (local.get $dsum4)))
      (block $d2t (loop $l2t
        (br_if $d2t (i32.ge_u (local.get $off) (local.get $rowBytes)))
        (local.set $d (f32x4.splat (f32.sub (f32.mul (f32.load (i32.add (local.get $x) (local.get $off))) (local.get $invT)) (local.get $m))))
        (local.set $e (call $exp4 (local.get $d)))
        (local.set $sum (f32.add (local.get $sum) (f32x4.extract_lane 0 (local.get $e))))
        (local.set $dsum (f32.add (local.get $dsum) (f32x4.extract_lane 0 (f32x4.mul (local.get $e) (local.get $d)))))
        (local.set $off (i32.add (local.get $off) (i32.const 4)))
        (br $l2t)))
      (local.set $logSum (f32.demote_f64 (call $log (f64.promote_f32 (local.get $sum)))))
      (local.set $t (i32.load (local.get $targets)))
      (f32.store offset=8 (local.get $out) (f32.add (local.get $m) (local.get $logSum)))
      (f32.store offset=4 (local.get $out) (f32.sub (local.get $logSum) (f32.div (local.get $dsum) (local.get $sum))))
      (f32.store (local.get $out)
        (if (result f32) (i32.lt_u (local.get $t) (local.get $V))
          (then (f32.sub (f32.mul (f32.load (i32.add (local.get $x) (i32.shl (local.get $t) (i32.const 2)))) (local.get $invT))
                         (f32.load offset=8 (local.get $out))))
          (else (f32.const nan))))
      (local.set $x (i32.add (local.get $x) (local.get $rowBytes)))
      (local.set $targets (i32.add (local.get $targets) (i32.const 4)))
      (local.set $out (i32.add (local.get $out) (i32.const 12)))
      (local.set $N (i32.sub (local.get $N) (i32.const 1)))
      (br $row))))

  ;; The head's gradient w.r.t. the logits, per row: with logp = s − lse and p = exp(logp),
  ;; d/dx = invT · (p · (a + b · logp) + [j = t] · dLp), a = −dLp − dH · H, b = −dH;
  ;; stats [N, 3] from headStats, dy [N, 2] = (dLp, dH).
  (func (export "headGrad") (param $x i32) (param $targets i32) (param $stats i32) (param $dy i32) (param $out i32)
                            (param $N i32) (param $V i32) (param $invT f32)
    (local $off i32) (local $a4 v128) (local $b4 v128) (local $lse4 v128) (local $inv4 v128) (local $logp v128)
    (local $dLp f32) (local $dH f32) (local $t i32) (local $V4 i32) (local $rowBytes i32) (local $at i32)
    (local.set $inv4 (f32x4.splat (local.get $invT)))
    (local.set $V4 (i32.shl (i32.and (local.get $V) (i32.const -4)) (i32.const 2)))
    (local.set $rowBytes (i32.shl (local.get $V) (i32.const 2)))
    (block $done (loop $row
      (br_if $done (i32.eqz (local.get $N)))
      (local.set $dLp (f32.load (local.get $dy)))
      (local.set $dH (f32.load offset=4 (local.get $dy)))
      (local.set $a4 (f32x4.splat (f32.neg (f32.add (local.get $dLp) (f32.mul (local.get $dH) (f32.load offset=4 (local.get $stats)))))))
      (local.set $b4 (f32x4.splat (f32.neg (local.get $dH))))
      (local.set $lse4 (f32x4.splat (f32.load offset=8 (local.get $stats))))
      (local.set $off (i32.const 0))
      (block $d1 (loop $l1
        (br_if $d1 (i32.ge_u (local.get $off) (local.get $V4)))
        (local.set $logp (f32x4.sub (f32x4.mul (v128.load (i32.add (local.get $x) (local.get $off))) (local.get $inv4)) (local.get $lse4)))
        (v128.store (i32.add (local.get $out) (local.get $off))
          (f32x4.mul (f32x4.mul (call $exp4 (local.get $logp)) (f32x4.add (local.get $a4) (f32x4.mul (local.get $logp) (local.get $b4)))) (local.get $inv4)))
        (local.set $off (i32.add (local.get $off) (i32.const 16)))
        (br $l1)))
      (block $d1t (loop $l1t
        (br_if $d1t (i32.ge_u (local.get $off) (local.get $rowBytes)))
        (local.set $logp (f32x4.splat (f32.sub (f32.mul (f32.load (i32.add (local.get $x) (local.get $off))) (local.get $invT)) (f32x4.extract_lane 0 (local.get $lse4)))))
        (f32.store (i32.add (local.get $out) (local.get $off))
          (f32x4.extract_lane 0 (f32x4.mul (f32x4.mul (call $exp4 (local.get $logp)) (f32x4.add (local.get $a4) (f32x4.mul (local.get $logp) (local.get $b4)))) (local.get $inv4))))
        (local.set $off (i32.add (local.get $off) (i32.const 4)))
        (br $l1t)))
      (local.set $t (i32.load (local.get $targets)))
      (if (i32.lt_u (local.get $t) (local.get $V))
        (then
          (local.set $at (i32.add (local.get $out) (i32.shl (local.get $t) (i32.const 2))))
          (f32.store (local.get $at) (f32.add (f32.load (local.get $at)) (f32.mul (local.get $dLp) (local.get $invT))))))
      (local.set $x (i32.add (local.get $x) (local.get $rowBytes)))
      (local.set $out (i32.add (local.get $out) (local.get $rowBytes)))
      (local.set $targets (i32.add (local.get $targets) (i32.const 4)))
      (local.set $stats (i32.add (local.get $stats) (i32.const 12)))
      (local.set $dy (i32.add (local.get $dy) (i32.const 8)))
      (local.set $N (i32.sub (local.get $N) (i32.const 1)))
      (br $row))))

  ;; Σ x² over one row of H floats.
  (func $sumSquares (param $x i32) (param $H i32) (result f32)
    (local $acc v128) (local $c i32) (local $s f32) (local $v v128)
    (block $done (loop $l
      (br_if $done (i32.gt_u (i32.add (local.get $c) (i32.const 4)) (local.get $H)))
      (local.set $v (v128.load (i32.add (local.get $x) (i32.shl (local.get $c) (i32.const 2)))))
      (local.set $acc (f32x4.add (local.get $acc) (f32x4.mul (local.get $v) (local.get $v))))
      (local.set $c (i32.add (local.get $c) (i32.const 4)))
      (br $l)))
    (local.set $s (call $hsum (local.get $acc)))
    (block $tailDone (loop $t
      (br_if $tailDone (i32.ge_u (local.get $c) (local.get $H)))
      (local.set $s (f32.add (local.get $s) (f32.mul
        (f32.load (i32.add (local.get $x) (i32.shl (local.get $c) (i32.const 2))))
        (f32.load (i32.add (local.get $x) (i32.shl (local.get $c) (i32.const 2)))))))
      (local.set $c (i32.add (local.get $c) (i32.const 1)))
      (br $t)))
    (local.get $s))

  ;; 1 / sqrt(mean(x²) + eps) of one row.
  (func $rstd (param $x i32) (param $H i32) (param $eps f32) (result f32)
    (f32.div (f32.const 1) (f32.sqrt (f32.add
      (f32.div (call $sumSquares (local.get $x) (local.get $H)) (f32.convert_i32_u (local.get $H)))
      (local.get $eps)))))

  ;; y = x · rstd · w, row by row: x, y [rows, H], w [H].
  (func (export "rmsNorm") (param $x i32) (param $w i32) (param $y i32) (param $rows i32) (param $H i32) (param $eps f32)
    (local $r f32) (local $r4 v128) (local $c i32) (local $off i32) (local $rowBytes i32)
    (local.set $rowBytes (i32.shl (local.get $H) (i32.const 2)))
    (block $done (loop $row
      (br_if $done (i32.eqz (local.get $rows)))
      (local.set $r (call $rstd (local.get $x) (local.get $H) (local.get $eps)))
      (local.set $r4 (f32x4.splat (local.get $r)))
      (local.set $c (i32.const 0))
      (block $vDone (loop $v
        (br_if $vDone (i32.gt_u (i32.add (local.get $c) (i32.const 4)) (local.get $H)))
        (local.set $off (i32.shl (local.get $c) (i32.const 2)))
        (v128.store (i32.add (local.get $y) (local.get $off))
          (f32x4.mul (f32x4.mul (v128.load (i32.add (local.get $x) (local.get $off))) (local.get $r4))
            (v128.load (i32.add (local.get $w) (local.get $off)))))
        (local.set $c (i32.add (local.get $c) (i32.const 4)))
        (br $v)))
      (block $tDone (loop $t
        (br_if $tDone (i32.ge_u (local.get $c) (local.get $H)))
        (local.set $off (i32.shl (local.get $c) (i32.const 2)))
        (f32.store (i32.add (local.get $y) (local.get $off))
          (f32.mul (f32.mul (f32.load (i32.add (local.get $x) (local.get $off))) (local.get $r))
            (f32.load (i32.add (local.get $w) (local.get $off)))))
        (local.set $c (i32.add (local.get $c) (i32.const 1)))
        (br $t)))
      (local.set $x (i32.add (local.get $x) (local.get $rowBytes)))
      (local.set $y (i32.add (local.get $y) (local.get $rowBytes)))
      (local.set $rows (i32.sub (local.get $rows) (i32.const 1)))
      (br $row))))

  ;; RMSNorm's gradients, row by row: xhat = x · rstd, g = dy · w, dx = rstd · (g − xhat · mean(g · xhat)),
  ;; dw = Σ_rows dy · xhat (dw is zeroed first).
  (func (export "rmsNormGrad") (param $x i32) (param $w i32) (param $dy i32) (param $dx i32) (param $dw i32)
                               (param $rows i32) (param $H i32) (param $eps f32)
    (local $r f32) (local $m f32) (local $c i32) (local $off i32) (local $xhat f32) (local $g f32) (local $rowBytes i32)
    (local $H4 i32) (local $r4 v128) (local $m4 v128) (local $xhat4 v128) (local $dy4 v128) (local $g4 v128)
    (local.set $rowBytes (i32.shl (local.get $H) (i32.const 2)))
    (local.set $H4 (i32.shl (i32.and (local.get $H) (i32.const -4)) (i32.const 2)))
    (memory.fill (local.get $dw) (i32.const 0) (local.get $rowBytes))
    (block $done (loop $row
      (br_if $done (i32.eqz (local.get $rows)))
      (local.set $r (call $rstd (local.get $x) (local.get $H) (local.get $eps)))
      (local.set $r4 (f32x4.splat (local.get $r)))
      ;; dw += dy · xhat; m = mean(g · xhat).
      (local.set $m4 (v128.const i32x4 0 0 0 0))
      (local.set $off (i32.const 0))
      (block $p2 (loop $l2
        (br_if $p2 (i32.ge_u (local.get $off) (local.get $H4)))
        (local.set $xhat4 (f32x4.mul (v128.load (i32.add (local.get $x) (local.get $off))) (local.get $r4)))
        (local.set $dy4 (v128.load (i32.add (local.get $dy) (local.get $off))))
        (v128.store (i32.add (local.get $dw) (local.get $off))
          (f32x4.add (v128.load (i32.add (local.get $dw) (local.get $off))) (f32x4.mul (local.get $dy4) (local.get $xhat4))))
        (local.set $g4 (f32x4.mul (local.get $dy4) (v128.load (i32.add (local.get $w) (local.get $off)))))
        (local.set $m4 (f32x4.add (local.get $m4) (f32x4.mul (local.get $g4) (local.get $xhat4))))
        (local.set $off (i32.add (local.get $off) (i32.const 16)))
        (br $l2)))
      (local.set $m (call $hsum (local.get $m4)))
      (block $p2t (loop $l2t
        (br_if $p2t (i32.ge_u (local.get $off) (local.get $rowBytes)))
        (local.set $xhat (f32.mul (f32.load (i32.add (local.get $x) (local.get $off))) (local.get $r)))
        (f32.store (i32.add (local.get $dw) (local.get $off)) (f32.add (f32.load (i32.add (local.get $dw) (local.get $off)))
          (f32.mul (f32.load (i32.add (local.get $dy) (local.get $off))) (local.get $xhat))))
        (local.set $g (f32.mul (f32.load (i32.add (local.get $dy) (local.get $off))) (f32.load (i32.add (local.get $w) (local.get $off)))))
        (local.set $m (f32.add (local.get $m) (f32.mul (local.get $g) (local.get $xhat))))
        (local.set $off (i32.add (local.get $off) (i32.const 4)))
        (br $l2t)))
      (local.set $m (f32.div (local.get $m) (f32.convert_i32_u (local.get $H))))
      (local.set $m4 (f32x4.splat (local.get $m)))
      ;; dx = rstd · (g − xhat · m).
      (local.set $off (i32.const 0))
      (block $p3 (loop $l3
        (br_if $p3 (i32.ge_u (local.get $off) (local.get $H4)))
        (local.set $xhat4 (f32x4.mul (v128.load (i32.add (local.get $x) (local.get $off))) (local.get $r4)))
        (local.set $g4 (f32x4.mul (v128.load (i32.add (local.get $dy) (local.get $off))) (v128.load (i32.add (local.get $w) (local.get $off)))))
        (v128.store (i32.add (local.get $dx) (local.get $off))
          (f32x4.mul (local.get $r4) (f32x4.sub (local.get $g4) (f32x4.mul (local.get $xhat4) (local.get $m4)))))
        (local.set $off (i32.add (local.get $off) (i32.const 16)))
        (br $l3)))
      (block $p3t (loop $l3t
        (br_if $p3t (i32.ge_u (local.get $off) (local.get $rowBytes)))
        (local.set $xhat (f32.mul (f32.load (i32.add (local.get $x) (local.get $off))) (local.get $r)))
        (local.set $g (f32.mul (f32.load (i32.add (local.get $dy) (local.get $off))) (f32.load (i32.add (local.get $w) (local.get $off)))))
        (f32.store (i32.add (local.get $dx) (local.get $off))
          (f32.mul (local.get $r) (f32.sub (local.get $g) (f32.mul (local.get $xhat) (local.get $m)))))
        (local.set $off (i32.add (local.get $off) (i32.const 4)))
        (br $l3t)))
      (local.set $x (i32.add (local.get $x) (local.get $rowBytes)))
      (local.set $dy (i32.add (local.get $dy) (local.get $rowBytes)))
      (local.set $dx (i32.add (local.get $dx) (local.get $rowBytes)))
      (local.set $rows (i32.sub (local.get $rows) (i32.const 1)))
      (br $row))))

  ;; Softmax's gradient from its output p: out = p · (dp − Σ_row dp · p), rows of S.
  (func (export "softmaxGrad") (param $p i32) (param $dp i32) (param $o i32) (param $rows i32) (param $S i32)
    (local $c i32) (local $off i32) (local $acc v128) (local $dot f32) (local $dot4 v128) (local $rowBytes i32)
    (local.set $rowBytes (i32.shl (local.get $S) (i32.const 2)))
    (block $done (loop $row
      (br_if $done (i32.eqz (local.get $rows)))
      (local.set $acc (v128.const i32x4 0 0 0 0))
      (local.set $c (i32.const 0))
      (block $vDone (loop $v
        (br_if $vDone (i32.gt_u (i32.add (local.get $c) (i32.const 4)) (local.get $S)))
        (local.set $off (i32.shl (local.get $c) (i32.const 2)))
        (local.set $acc (f32x4.add (local.get $acc) (f32x4.mul (v128.load (i32.add (local.get $dp) (local.get $off))) (v128.load (i32.add (local.get $p) (local.get $off))))))
        (local.set $c (i32.add (local.get $c) (i32.const 4)))
        (br $v)))
      (local.set $dot (call $hsum (local.get $acc)))
      (block $tDone (loop $t
        (br_if $tDone (i32.ge_u (local.get $c) (local.get $S)))
        (local.set $off (i32.shl (local.get $c) (i32.const 2)))
        (local.set $dot (f32.add (local.get $dot) (f32.mul (f32.load (i32.add (local.get $dp) (local.get $off))) (f32.load (i32.add (local.get $p) (local.get $off))))))
        (local.set $c (i32.add (local.get $c) (i32.const 1)))
        (br $t)))
      (local.set $dot4 (f32x4.splat (local.get $dot)))
      (local.set $c (i32.const 0))
      (block $vDone2 (loop $v2
        (br_if $vDone2 (i32.gt_u (i32.add (local.get $c) (i32.const 4)) (local.get $S)))
        (local.set $off (i32.shl (local.get $c) (i32.const 2)))
        (v128.store (i32.add (local.get $o) (local.get $off))
          (f32x4.mul (v128.load (i32.add (local.get $p) (local.get $off)))
            (f32x4.sub (v128.load (i32.add (local.get $dp) (local.get $off))) (local.get $dot4))))
        (local.set $c (i32.add (local.get $c) (i32.const 4)))
        (br $v2)))
      (block $tDone2 (loop $t2
        (br_if $tDone2 (i32.ge_u (local.get $c) (local.get $S)))
        (local.set $off (i32.shl (local.get $c) (i32.const 2)))
        (f32.store (i32.add (local.get $o) (local.get $off))
          (f32.mul (f32.load (i32.add (local.get $p) (local.get $off)))
            (f32.sub (f32.load (i32.add (local.get $dp) (local.get $off))) (local.get $dot))))
        (local.set $c (i32.add (local.get $c) (i32.const 1)))
        (br $t2)))
      (local.set $p (i32.add (local.get $p) (local.get $rowBytes)))
      (local.set $dp (i32.add (local.get $dp) (local.get $rowBytes)))
      (local.set $o (i32.add (local.get $o) (local.get $rowBytes)))
      (local.set $rows (i32.sub (local.get $rows) (i32.const 1)))
      (br $row))))

  ;; out[i] = table[ids[i]], rows of H floats; an id outside [0, V) gives a row of zeros.
  (func (export "gatherRows") (param $table i32) (param $ids i32) (param $o i32) (param $n i32) (param $H i32) (param $V i32)
    (local $id i32) (local $rowBytes i32)
    (local.set $rowBytes (i32.shl (local.get $H) (i32.const 2)))
    (block $done (loop $l
      (br_if $done (i32.eqz (local.get $n)))
      (local.set $id (i32.load (local.get $ids)))
      (if (i32.lt_u (local.get $id) (local.get $V))
        (then (memory.copy (local.get $o) (i32.add (local.get $table) (i32.mul (local.get $id) (local.get $rowBytes))) (local.get $rowBytes)))
        (else (memory.fill (local.get $o) (i32.const 0) (local.get $rowBytes))))
      (local.set $ids (i32.add (local.get $ids) (i32.const 4)))
      (local.set $o (i32.add (local.get $o) (local.get $rowBytes)))
      (local.set $n (i32.sub (local.get $n) (i32.const 1)))
      (br $l)))))
