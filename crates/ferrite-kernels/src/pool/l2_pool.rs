//! L2_POOL_2D on float32 NHWC: sqrt(mean of squares) over the clipped
//! window, squares summed in (row, column) order as LiteRT does.

use super::window::{fold_rows, parse, PoolParams};
use crate::api::*;
use crate::common::clamp;

struct L2Pool {
    p: PoolParams,
}

pub fn build(spec: &OpSpec<'_>) -> KResult<Box<dyn Kernel>> {
    Ok(Box::new(L2Pool { p: parse(spec)? }))
}

impl Kernel for L2Pool {
    fn output_shapes(&self, inputs: &[Option<ShapeArg<'_>>]) -> KResult<Option<Vec<Vec<usize>>>> {
        self.p.output_shapes(inputs)
    }

    fn eval(&self, io: &mut EvalIo<'_, '_>) -> KResult<()> {
        let x = io.input(0)?;
        let input = x.f32()?;
        let g = self
            .p
            .eval_geometry(x.shape, input.len(), io.outputs[0].num_elements())?;
        let (lo, hi) = (self.p.lo, self.p.hi);
        let (w, c) = (g.in_w, g.ch);
        let empty = std::sync::atomic::AtomicBool::new(false);
        self.p.for_each_pixel(
            &g,
            io.par,
            io.outputs[0].f32()?,
            |(y0, y1), (x0, x1), px| {
                px.fill(0.0);
                let taps = (y0..y1).flat_map(|y| (x0..x1).map(move |xx| (y * w + xx) * c));
                fold_rows(px, input, taps, |a, v| a + v * v);
                let count = (y1 - y0) * (x1 - x0);
                if count == 0 {
                    empty.store(true, std::sync::atomic::Ordering::Relaxed);
                    return;
                }
                let n = count as f32;
                for o in px.iter_mut() {
                    *o = clamp((*o / n).sqrt(), lo, hi);
                }
            },
        );
        if empty.into_inner() {
            return invalid("L2_POOL_2D window covers no input pixel");
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::run_pool;

    #[test]
    fn root_mean_square_of_clipped_windows() {
        // 1x2x3x1 [[3,4,0],[0,0,12]], SAME 2x2/2: windows {3,4,0,0} and
        // {0,12} (clipped to one column): sqrt(25/4)=2.5, sqrt(144/2).
        let x = [3.0, 4.0, 0.0, 0.0, 0.0, 12.0];
        let y = run_pool(super::build, &x, &[1, 2, 3, 1], 0, 2, 2, 2, 2, 0);
        assert_eq!(y.0, vec![1, 1, 2, 1]);
        assert_eq!(y.1, vec![2.5, 72f32.sqrt()]);
    }
}
