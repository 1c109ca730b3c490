//! `TFLite_Detection_PostProcess`: SSD box decoding and non-max suppression,
//! as LiteRT's kernel computes it (tensorflow/lite/kernels/
//! detection_postprocess.cc, single-threaded): boxes decoded in double and
//! stored as f32, a stable descending sort inside NMS, a stable merge of
//! the per-class results, and for the fast path's per-anchor classes a
//! first-maximum argmax for one class, else libstdc++'s `partial_sort`
//! (whose order of equal scores is its own). Rows past `num_detections`
//! are zero (LiteRT leaves whatever the buffer held).

use crate::custom::{Attr, CustomOp, EvalContext, OpError, OutputSpec, PrepareContext, Tensor};
use crate::DType;

pub struct DetectionPostProcess;

/// The options, read as LiteRT's `Init` does: a missing key is 0 (or its
/// default for `detections_per_class` and `use_regular_nms`).
struct Params {
    max_detections: usize,
    max_classes_per_detection: usize,
    detections_per_class: usize,
    score_threshold: f32,
    iou_threshold: f32,
    num_classes: usize,
    scale: [f32; 4],
    regular: bool,
}

fn int_of(a: Option<&Attr>) -> i64 {
    match a {
        Some(Attr::Int(v)) => *v,
        Some(Attr::Bool(b)) => i64::from(*b),
        Some(Attr::Float(f)) => *f as i64,
        _ => 0,
    }
}

fn float_of(a: Option<&Attr>) -> f32 {
    match a {
        Some(Attr::Float(f)) => *f,
        Some(Attr::Int(v)) => *v as f32,
        Some(Attr::Bool(b)) => f32::from(u8::from(*b)),
        _ => 0.0,
    }
}

fn count(attrs: &[(String, Attr)], key: &str, default: Option<i64>) -> Result<usize, OpError> {
    let a = attrs.iter().find(|(k, _)| k == key).map(|(_, v)| v);
    let v = match (a, default) {
        (None, Some(d)) => d,
        (a, _) => int_of(a),
    };
    // Bounded so that output sizes cannot overflow.
    usize::try_from(v)
        .ok()
        .filter(|&v| v <= 1 << 20)
        .ok_or_else(|| OpError::invalid(format!("{key} = {v} is out of range")))
}

impl Params {
    fn read(attrs: &[(String, Attr)]) -> Result<Params, OpError> {
        let get = |k: &str| attrs.iter().find(|(n, _)| n == k).map(|(_, v)| v);
        Ok(Params {
            max_detections: count(attrs, "max_detections", None)?,
            max_classes_per_detection: count(attrs, "max_classes_per_detection", None)?,
            detections_per_class: count(attrs, "detections_per_class", Some(100))?,
            score_threshold: float_of(get("nms_score_threshold")),
            iou_threshold: float_of(get("nms_iou_threshold")),
            num_classes: count(attrs, "num_classes", None)?,
            scale: ["y_scale", "x_scale", "h_scale", "w_scale"].map(|k| float_of(get(k))),
            regular: get("use_regular_nms").is_some_and(|a| int_of(Some(a)) != 0),
        })
    }
}

impl CustomOp for DetectionPostProcess {
    fn name(&self) -> &str {
        "TFLite_Detection_PostProcess"
    }

    fn prepare(&self, cx: &PrepareContext<'_>) -> Result<Vec<OutputSpec>, OpError> {
        let p = Params::read(cx.attrs())?;
        if cx.num_inputs() != 3 || cx.num_outputs() != 4 {
            return Err(OpError::invalid("expects 3 inputs and 4 outputs"));
        }
        let ranks = [3, 3, 2];
        for (i, rank) in ranks.into_iter().enumerate() {
            if cx.input(i)?.shape().len() != rank {
                return Err(OpError::invalid(format!("input {i} must have rank {rank}")));
            }
        }
        // LiteRT writes max_detections rows even where this is 0.
        if p.max_classes_per_detection == 0 {
            return Err(OpError::invalid(
                "max_classes_per_detection must be positive",
            ));
        }
        let n = p.max_detections * p.max_classes_per_detection;
        Ok(vec![
            OutputSpec::new(DType::Float32, &[1, n, 4]),
            OutputSpec::new(DType::Float32, &[1, n]),
            OutputSpec::new(DType::Float32, &[1, n]),
            OutputSpec::new(DType::Float32, &[1]),
        ])
    }

    fn eval(&self, cx: &mut EvalContext<'_, '_>) -> Result<(), OpError> {
        let p = Params::read(cx.attrs())?;
        let boxes = decode_boxes(&cx.input(0)?, &cx.input(2)?, &p)?;
        let preds = cx.input(1)?;
        let shape = preds.shape();
        let num_boxes = boxes.len();
        if shape[0] != 1 || shape[1] != num_boxes {
            return Err(OpError::invalid(format!(
                "class predictions {shape:?} do not match {num_boxes} boxes"
            )));
        }
        let with_bg = shape[2];
        if with_bg < p.num_classes || with_bg - p.num_classes > 1 {
            return Err(OpError::invalid(format!(
                "class predictions have {with_bg} columns for {} classes",
                p.num_classes
            )));
        }
        let scores = class_scores(&preds)?;
        let nms = Nms {
            boxes: &boxes,
            score_threshold: p.score_threshold,
            iou_threshold: p.iou_threshold,
        };
        if !(p.iou_threshold > 0.0 && p.iou_threshold <= 1.0) {
            return Err(OpError::invalid("nms_iou_threshold must be in (0, 1]"));
        }
        if boxes.iter().any(|b| b[0] > b[2] || b[1] > b[3]) {
            return Err(OpError::invalid("a decoded box has min > max"));
        }
        let table = Scores {
            data: &scores,
            with_bg,
            offset: with_bg - p.num_classes,
            classes: p.num_classes,
        };
        let dets = if p.regular {
            regular(&nms, &table, &p)?
        } else {
            fast(&nms, &table, &p)?
        };
        let mut outs = cx.outputs();
        let [b, c, s, n] = &mut outs[..] else {
            return Err(OpError::invalid("expects 4 outputs"));
        };
        let (b, c, s) = (
            b.as_slice_mut::<f32>()?,
            c.as_slice_mut::<f32>()?,
            s.as_slice_mut::<f32>()?,
        );
        b.fill(0.0);
        c.fill(0.0);
        s.fill(0.0);
        for d in &dets.rows {
            let at = d.slot;
            // Outputs are sized by prepare; a row past them is a bug, not UB.
            if 4 * at + 4 > b.len() || at >= c.len().min(s.len()) {
                return Err(OpError::invalid(format!(
                    "detection row {at} outside the outputs"
                )));
            }
            b[4 * at..4 * at + 4].copy_from_slice(&boxes[d.anchor]);
            c[at] = d.class as f32;
            s[at] = d.score;
        }
        n.as_slice_mut::<f32>()?[0] = dets.count as f32;
        Ok(())
    }
}

/// Decoded corners `[ymin, xmin, ymax, xmax]` per anchor.
fn decode_boxes(
    enc: &Tensor<'_>,
    anchors: &Tensor<'_>,
    p: &Params,
) -> Result<Vec<[f32; 4]>, OpError> {
    let es = enc.shape();
    if es[0] != 1 || es[2] < 4 {
        return Err(OpError::invalid(format!(
            "box encodings {es:?}: need [1, boxes, >=4]"
        )));
    }
    let (num, len) = (es[1], es[2]);
    let ash = anchors.shape();
    if ash[0] != num || ash[1] != 4 {
        return Err(OpError::invalid(format!(
            "anchors {ash:?}: need [{num}, 4]"
        )));
    }
    let (enc_f, anc_f) = (dequantized(enc)?, dequantized(anchors)?);
    if enc.dtype() != anchors.dtype() && enc.dtype() == DType::Uint8 {
        return Err(OpError::unsupported(
            "uint8 box encodings need uint8 anchors",
        ));
    }
    let [ys, xs, hs, ws] = p.scale.map(f64::from);
    Ok((0..num)
        .map(|i| {
            let e = &enc_f[i * len..i * len + 4];
            let a = &anc_f[i * 4..i * 4 + 4];
            let (ay, ax, ah, aw) = (a[0] as f64, a[1] as f64, a[2] as f64, a[3] as f64);
            let yc = (e[0] as f64 / ys * ah + ay) as f32;
            let xc = (e[1] as f64 / xs * aw + ax) as f32;
            let hh = (0.5 * (e[2] as f64 / hs).exp() * ah) as f32;
            let hw = (0.5 * (e[3] as f64 / ws).exp() * aw) as f32;
            [yc - hh, xc - hw, yc + hh, xc + hw]
        })
        .collect())
}

/// Float values of a float32 or uint8 tensor, dequantized as LiteRT does
/// (`(q - zero_point) * scale` in f32).
fn dequantized(t: &Tensor<'_>) -> Result<Vec<f32>, OpError> {
    match t.dtype() {
        DType::Float32 => Ok(t.as_slice::<f32>()?.to_vec()),
        DType::Uint8 => {
            let (scale, zp) = match t.quantization() {
                Some(q) if !q.scale.is_empty() => {
                    (q.scale[0], q.zero_point.first().copied().unwrap_or(0))
                }
                _ => return Err(OpError::invalid("a uint8 input needs quantization")),
            };
            let zp = zp as f32;
            Ok(t.as_slice::<u8>()?
                .iter()
                .map(|&q| (q as f32 - zp) * scale)
                .collect())
        }
        other => Err(OpError::unsupported(format!("{other} inputs"))),
    }
}

fn class_scores(t: &Tensor<'_>) -> Result<Vec<f32>, OpError> {
    dequantized(t)
}

struct Scores<'a> {
    data: &'a [f32],
    with_bg: usize,
    offset: usize,
    classes: usize,
}

impl Scores<'_> {
    fn row(&self, anchor: usize) -> &[f32] {
        let at = anchor * self.with_bg + self.offset;
        &self.data[at..at + self.classes]
    }
}

struct Nms<'a> {
    boxes: &'a [[f32; 4]],
    score_threshold: f32,
    iou_threshold: f32,
}

fn iou(a: &[f32; 4], b: &[f32; 4]) -> f32 {
    let area_a = (a[2] - a[0]) * (a[3] - a[1]);
    let area_b = (b[2] - b[0]) * (b[3] - b[1]);
    if area_a <= 0.0 || area_b <= 0.0 {
        return 0.0;
    }
    let ymin = fmax(a[0], b[0]);
    let xmin = fmax(a[1], b[1]);
    let ymax = fmin(a[2], b[2]);
    let xmax = fmin(a[3], b[3]);
    let inter = fmax(ymax - ymin, 0.0) * fmax(xmax - xmin, 0.0);
    inter / (area_a + area_b - inter)
}

/// `std::max`: the first argument unless the second is greater.
fn fmax(a: f32, b: f32) -> f32 {
    if a < b {
        b
    } else {
        a
    }
}

/// `std::min`: the first argument unless the second is smaller.
fn fmin(a: f32, b: f32) -> f32 {
    if b < a {
        b
    } else {
        a
    }
}

impl Nms<'_> {
    /// Anchors kept for one score per anchor, best first, at most `limit`.
    fn single_class(&self, scores: &[f32], limit: usize) -> Vec<usize> {
        let kept: Vec<usize> = (0..scores.len())
            .filter(|&i| scores[i] >= self.score_threshold)
            .collect();
        let mut order: Vec<usize> = (0..kept.len()).collect();
        // Stable, as LiteRT's std::stable_sort.
        order.sort_by(|&i, &j| {
            let (a, b) = (scores[kept[i]], scores[kept[j]]);
            if a > b {
                std::cmp::Ordering::Less
            } else if b > a {
                std::cmp::Ordering::Greater
            } else {
                std::cmp::Ordering::Equal
            }
        });
        let limit = limit.min(kept.len());
        let mut active = vec![true; kept.len()];
        let mut live = kept.len();
        let mut selected = Vec::new();
        for i in 0..kept.len() {
            if live == 0 || selected.len() >= limit {
                break;
            }
            if !active[i] {
                continue;
            }
            let bi = kept[order[i]];
            selected.push(bi);
            active[i] = false;
            live -= 1;
            for j in i + 1..kept.len() {
                if active[j]
                    && iou(&self.boxes[bi], &self.boxes[kept[order[j]]]) > self.iou_threshold
                {
                    active[j] = false;
                    live -= 1;
                }
            }
        }
        selected
    }
}

struct Row {
    slot: usize,
    anchor: usize,
    class: usize,
    score: f32,
}

struct Detections {
    rows: Vec<Row>,
    count: usize,
}

/// NMS per class (at most `min(detections_per_class, max_detections)`
/// each), merged class by class into the best `max_detections`: a stable
/// merge, as LiteRT's `std::inplace_merge`, so on equal scores earlier
/// classes come first.
fn regular(nms: &Nms<'_>, t: &Scores<'_>, p: &Params) -> Result<Detections, OpError> {
    let per_class = p.detections_per_class.min(p.max_detections);
    if per_class == 0 {
        return Err(OpError::invalid(
            "detections_per_class and max_detections must be positive",
        ));
    }
    let num_boxes = nms.boxes.len();
    // (anchor, class, score), best first.
    let mut best: Vec<(usize, usize, f32)> = Vec::new();
    let mut column = vec![0.0f32; num_boxes];
    for class in 0..t.classes {
        for (a, c) in column.iter_mut().enumerate() {
            *c = t.row(a)[class];
        }
        let fresh: Vec<_> = nms
            .single_class(&column, per_class)
            .into_iter()
            .map(|a| (a, class, column[a]))
            .collect();
        let mut merged = Vec::with_capacity(best.len() + fresh.len());
        let (mut i, mut j) = (0, 0);
        while i < best.len() || j < fresh.len() {
            // Take from `fresh` only when strictly better.
            if j < fresh.len() && (i == best.len() || fresh[j].2 > best[i].2) {
                merged.push(fresh[j]);
                j += 1;
            } else {
                merged.push(best[i]);
                i += 1;
            }
        }
        merged.truncate(p.max_detections);
        best = merged;
    }
    Ok(Detections {
        count: best.len(),
        rows: best
            .into_iter()
            .enumerate()
            .map(|(slot, (anchor, class, score))| Row {
                slot,
                anchor,
                class,
                score,
            })
            .collect(),
    })
}

/// NMS over each anchor's best class score; each kept anchor reports its
/// top `max_classes_per_detection` classes.
fn fast(nms: &Nms<'_>, t: &Scores<'_>, p: &Params) -> Result<Detections, OpError> {
    if p.max_classes_per_detection == 0 {
        return Err(OpError::invalid(
            "max_classes_per_detection must be positive",
        ));
    }
    if t.classes == 0 {
        return Err(OpError::invalid("num_classes must be positive"));
    }
    let per = p.max_classes_per_detection.min(t.classes);
    let num_boxes = nms.boxes.len();
    let mut top = Vec::with_capacity(num_boxes);
    let mut max_scores = Vec::with_capacity(num_boxes);
    for a in 0..num_boxes {
        let row = t.row(a);
        let idx = decreasing_partial_argsort(row, per);
        max_scores.push(row[idx[0]]);
        top.push(idx);
    }
    let selected = nms.single_class(&max_scores, p.max_detections);
    let mut rows = Vec::new();
    for (k, &a) in selected.iter().enumerate() {
        for (col, &class) in top[a][..per].iter().enumerate() {
            rows.push(Row {
                slot: p.max_classes_per_detection * k + col,
                anchor: a,
                class,
                score: t.row(a)[class],
            });
        }
    }
    Ok(Detections {
        count: selected.len(),
        rows,
    })
}

/// Indices of the `take` largest values first, as LiteRT orders them: the
/// first maximum for one, else libstdc++'s `std::partial_sort` over
/// `0..n` with `values[i] > values[j]` (a heap select, then a heap sort;
/// ties come out in the order that algorithm leaves them).
fn decreasing_partial_argsort(values: &[f32], take: usize) -> Vec<usize> {
    let n = values.len();
    if take == 1 && n > 0 {
        let mut best = 0;
        for i in 1..n {
            if values[i] > values[best] {
                best = i;
            }
        }
        return vec![best];
    }
    let mut idx: Vec<usize> = (0..n).collect();
    let less = |a: usize, b: usize| values[a] > values[b];
    heap_select(&mut idx, take.min(n), &less);
    sort_heap(&mut idx[..take.min(n)], &less);
    idx
}

/// libstdc++'s `__adjust_heap`: sift the hole at `hole` down, then push
/// `value` up from where it ends.
fn adjust_heap(
    v: &mut [usize],
    mut hole: usize,
    len: usize,
    value: usize,
    less: &impl Fn(usize, usize) -> bool,
) {
    let top = hole;
    let mut child = hole;
    while child < (len.saturating_sub(1)) / 2 {
        child = 2 * (child + 1);
        if less(v[child], v[child - 1]) {
            child -= 1;
        }
        v[hole] = v[child];
        hole = child;
    }
    if len & 1 == 0 && len >= 2 && child == (len - 2) / 2 {
        child = 2 * (child + 1);
        v[hole] = v[child - 1];
        hole = child - 1;
    }
    // __push_heap
    while hole > top {
        let parent = (hole - 1) / 2;
        if !less(v[parent], value) {
            break;
        }
        v[hole] = v[parent];
        hole = parent;
    }
    v[hole] = value;
}

fn make_heap(v: &mut [usize], less: &impl Fn(usize, usize) -> bool) {
    let len = v.len();
    if len < 2 {
        return;
    }
    let mut parent = (len - 2) / 2;
    loop {
        let value = v[parent];
        adjust_heap(v, parent, len, value, less);
        if parent == 0 {
            return;
        }
        parent -= 1;
    }
}

/// `__pop_heap(first, last, result)` on `v[..last]`, result at `result`.
fn pop_heap(v: &mut [usize], last: usize, result: usize, less: &impl Fn(usize, usize) -> bool) {
    let value = v[result];
    v[result] = v[0];
    adjust_heap(v, 0, last, value, less);
}

fn heap_select(v: &mut [usize], middle: usize, less: &impl Fn(usize, usize) -> bool) {
    make_heap(&mut v[..middle], less);
    for i in middle..v.len() {
        if middle > 0 && less(v[i], v[0]) {
            pop_heap(v, middle, i, less);
        }
    }
}

fn sort_heap(v: &mut [usize], less: &impl Fn(usize, usize) -> bool) {
    let mut last = v.len();
    while last > 1 {
        last -= 1;
        pop_heap(v, last, last, less);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// libstdc++'s partial_sort keeps the k best in descending order; only
    /// the order of ties is implementation-defined (checked against LiteRT
    /// by the detection fixtures).
    #[test]
    fn partial_argsort_selects_the_best_in_order() {
        let v = [0.1f32, 0.9, 0.3, 0.9, 0.5, 0.7, 0.2];
        for take in 0..=v.len() {
            let idx = decreasing_partial_argsort(&v, take);
            let got: Vec<f32> = idx[..take].iter().map(|&i| v[i]).collect();
            let mut want = v.to_vec();
            want.sort_by(|a, b| b.partial_cmp(a).unwrap());
            assert_eq!(got, want[..take], "take {take}");
            if take != 1 {
                let mut all = idx.clone();
                all.sort();
                assert_eq!(all, (0..v.len()).collect::<Vec<_>>());
            }
        }
        assert_eq!(decreasing_partial_argsort(&v, 1), [1]);
    }

    #[test]
    fn iou_of_overlapping_and_degenerate_boxes() {
        let a = [0.0, 0.0, 2.0, 2.0];
        let b = [1.0, 1.0, 3.0, 3.0];
        assert_eq!(iou(&a, &b), 1.0 / 7.0);
        assert_eq!(iou(&a, &[1.0, 1.0, 1.0, 3.0]), 0.0);
    }
}
