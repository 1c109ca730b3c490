//! CONV_2D int16x8: int16 input and output (zero point 0), constant int8
//! filter (per tensor or per output channel), int64 or int32 bias. LiteRT
//! runs its reference kernel for int64 biases (`reference_integer_ops::
//! ConvPerChannel`: int64 accumulator, `+ bias`, int64
//! `MultiplyByQuantizedMultiplier`, clamp); ours is the same arithmetic on
//! the i16-pair GEMM, whose chunked i32 sums are exact (see `gemm_i16`).
//! An int32 bias with `quantized_bias_type` INT32 takes LiteRT's optimized
//! int32 GEMM (`Rounding::Int32Upward`, as FULLY_CONNECTED). LiteRT refuses
//! a missing bias in prepare, and reads an int32 bias as int64 when the
//! option is unset; both are refused here.

use crate::api::*;
use crate::common::Activation;
use crate::conv::geometry::{Axis, Padding};
use crate::conv::window_i16::Window;
use crate::linalg::gemm_i16::{gemm, PackedW, Plan};
use crate::linalg::requant_int16::{
    bias_i64_or_i32, eval_bias, int16_scale, requant, Product, Requant, Rounding,
};

/// `quantized_bias_type` values (TensorType codes).
const INT32: i8 = 2;
const INT64: i8 = 4;

struct Conv2dInt16 {
    padding: Padding,
    h: Axis,
    w: Axis,
    filter_shape: Vec<usize>,
    weights: PackedW,
    requant: Requant,
    bias: Option<Option<Vec<i64>>>,
}

pub fn build(spec: &OpSpec<'_>) -> KResult<Box<dyn Kernel>> {
    spec.expect_arity(2..=3, 1)?;
    let BuiltinOptions::Conv2DOptions(o) = spec.options else {
        return invalid("CONV_2D without Conv2DOptions");
    };
    let in_scale = int16_scale(spec, spec.input(0)?)?;
    let out_scale = int16_scale(spec, spec.output(0)?)?;
    let filter = spec.input(1)?;
    let (Some(data), &[cout, kh, kw, cin]) = (filter.data, filter.shape) else {
        return spec.unsupported("int16x8 filter that is not a constant 4-D tensor");
    };
    let act = Activation::from_code(o.fused_activation_function)?;
    let mut requant = requant(
        spec,
        in_scale,
        filter,
        0,
        cout,
        (out_scale, act),
        (Product::Double, Rounding::Reduced),
    )?;
    let (bias, bias_type) = bias_i64_or_i32(spec, 2, cout)?;
    let qbt = o.quantized_bias_type;
    match (bias_type, qbt) {
        (None, _) => return spec.unsupported("int16x8 without a bias (LiteRT requires one)"),
        (Some(DType::Int64), 0 | INT64) => {}
        (Some(DType::Int32), INT32) => requant.set_rounding(Rounding::Int32Upward),
        (Some(DType::Int32), 0) => {
            return spec.unsupported(
                "int16x8 with an INT32 bias but no quantized_bias_type INT32 \
                 (LiteRT reads the bias as int64)",
            )
        }
        (Some(t), q) => {
            return invalid(format!(
                "{}: {t} bias does not match quantized_bias_type {q}",
                spec.name
            ))
        }
    }
    Ok(Box::new(Conv2dInt16 {
        padding: Padding::from_code(o.padding)?,
        h: Axis::new(o.stride_h, o.dilation_h_factor)?,
        w: Axis::new(o.stride_w, o.dilation_w_factor)?,
        filter_shape: filter.shape.to_vec(),
        weights: PackedW::pack(cast::<i8>(data)?, cout, kh * kw * cin)?,
        requant,
        bias,
    }))
}

impl Conv2dInt16 {
    fn window(&self, input: &[usize], bias: Option<&[usize]>) -> KResult<Window> {
        Window::new(
            "CONV_2D",
            input,
            &self.filter_shape,
            bias,
            self.padding,
            (self.h, self.w),
        )
    }
}

impl Kernel for Conv2dInt16 {
    fn output_shapes(&self, inputs: &[Option<ShapeArg<'_>>]) -> KResult<Option<Vec<Vec<usize>>>> {
        let x = shape_input(inputs, 0)?;
        if x.dtype != DType::Int16 {
            return invalid(format!(
                "int16x8 CONV_2D input must be INT16, got {}",
                x.dtype
            ));
        }
        if let (Some(&c), Some(&fc)) = (x.shape.last(), self.filter_shape.last()) {
            if c != fc && fc > 0 && c % fc == 0 {
                return unsupported("CONV_2D: grouped int16x8 convolution");
            }
        }
        let b = inputs.get(2).copied().flatten();
        Ok(Some(vec![self
            .window(x.shape, b.map(|b| b.shape))?
            .out_shape()]))
    }

    fn eval(&self, io: &mut EvalIo<'_, '_>) -> KResult<()> {
        let x = io.input(0)?;
        let b = io.optional_input(2);
        let win = self.window(x.shape, b.map(|b| b.shape))?;
        let bias = eval_bias(&self.bias, b, win.cout)?;
        x.expect(DType::Int16)?;
        let input = x.typed::<i16>()?;
        let fill = |i: usize, dst: &mut [i16]| win.gather(input, i, 0, dst);
        let epi = |_: usize, j0: usize, acc: &[i64], o: &mut [i16]| {
            for (c, (o, &a)) in o.iter_mut().zip(acc).enumerate() {
                *o = self.requant.apply(a.wrapping_add(bias[j0 + c]), j0 + c);
            }
        };
        let out = io.outputs[0].typed::<i16>()?;
        gemm(
            Plan::int16(),
            io.par,
            win.rows(),
            &self.weights,
            out,
            win.cout,
            &fill,
            &epi,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::linalg::testutil_hq::*;
    use ferrite_format::options::Conv2DOptions;

    fn opts(padding: i8, sh: i32, sw: i32, dil: i32, act: i8) -> BuiltinOptions {
        BuiltinOptions::Conv2DOptions(Conv2DOptions {
            padding,
            stride_h: sh,
            stride_w: sw,
            dilation_h_factor: dil,
            dilation_w_factor: dil,
            fused_activation_function: act,
            ..Default::default()
        })
    }

    // LiteRT 2.3 builtin kernels; input [2, 5, 6, 3] with -32768/32767
    // pixels, filter [4, 3, 2, 3] (channel 0 all -128), channel 1's bias
    // saturates.
    const X: [i16; 180] = [
        -32768, -32768, -32768, 32767, 32767, 32767, 17146, -8646, -30421, -18682, -2866, -7483,
        27215, -4708, 9050, 7296, -26801, 15491, -29495, -31766, 5592, -16120, -8779, 6825, -22518,
        -27281, 13157, 32621, 11984, 21780, -5607, -30358, 9864, 4426, 16310, 7165, -857, -32315,
        12997, -21032, -1324, -21960, 5011, -2494, -5902, 4391, -23508, -3152, 14493, 27510,
        -18235, 20638, -10316, -6478, 20186, -19454, -16708, -9285, 9546, 23726, -15089, -9909,
        23442, 32182, 18405, 4310, 20243, -17247, -22403, 10400, -16454, 10500, -17882, 957, 20939,
        -14478, 3897, 8514, -18397, -1364, 15609, 10045, 11172, 2768, 27838, -24825, 29, 26787,
        -5106, -31640, 31645, -12402, -29139, -21538, 29892, -10286, -31975, 7701, -29823, 3331,
        8103, 14162, -25986, -692, 1665, 22380, -32730, -9965, -5866, 3148, 18703, 290, 16816,
        -31323, -13468, -17828, 6349, -27286, -9797, -16462, 28689, -32337, 10557, -13553, 23907,
        -8265, -32524, 9622, -21708, 22526, 23153, -5539, -2930, 8629, -16537, 1295, 32081, -17648,
        3924, -19732, 19585, -3127, 18088, 19291, 26790, 6113, 1171, 13062, -20002, 15087, -19382,
        7947, 14596, -16759, -14781, -3821, -26112, 894, -19292, -32040, -26478, -13402, 4204,
        -9223, -18745, -32091, -4502, 4074, 10833, 3204, -13400, -26904, 5108, -16435, -29597,
        26495, 1223, -4046, -19884, -15699,
    ];
    const W: [i8; 72] = [
        -128, -128, -128, -128, -128, -128, -128, -128, -128, -128, -128, -128, -128, -128, -128,
        -128, -128, -128, 103, 41, 3, 95, -46, -89, -27, 72, 27, -7, -30, 13, 102, 108, -44, 80,
        122, -94, -47, -22, -16, 44, -98, 79, -22, -87, -80, 51, 79, 4, -31, -109, 33, 4, -121,
        -14, -65, -15, -13, -60, -5, -35, 61, 67, -19, -41, -122, 91, -32, 51, -62, 64, -2, -25,
    ];
    const B: [i64; 4] = [358461, 1099511627776, 360008, -1028293];
    const PCS: [f32; 4] = [0.021538084, 0.024352707, 0.020483717, 0.006963424];
    const IS: f32 = 0.00013;
    const OS: f32 = 0.0021;
    /// (per-channel, padding, stride h, stride w, dilation, activation,
    /// output shape, expected).
    #[allow(clippy::type_complexity)]
    const CASES: [(bool, i8, i32, i32, i32, i8, &[usize], &[i16]); 6] = [
        (
            false,
            0,
            1,
            1,
            1,
            0,
            &[2, 5, 6, 4],
            &[
                13064, 32767, 21876, -12222, -3219, 32767, -1406, -2592, 4098, 32767, 5921, 645,
                -6828, 32767, 6114, -5684, -4530, 32767, -645, 3488, -3599, 32767, -516, -3236,
                24070, 32767, 13070, -8212, 4921, 32767, -7239, 2922, 8476, 32767, 8587, -5339,
                -7084, 32767, -4061, 7726, -9242, 32767, 5468, -5599, -4255, 32767, -1946, -1147,
                22702, 32767, 3987, -4243, 14128, 32767, 9512, -3363, -9323, 32767, 3847, 1313,
                -12710, 32767, 8510, -11725, -1988, 32767, 2204, 3013, -5698, 32767, 3277, -3714,
                9785, 32767, 2434, 1569, 5852, 32767, -2770, 3620, -7632, 32767, 6449, -8500,
                -10447, 32767, -5566, 3957, -501, 32767, 7872, 390, 763, 32767, -1646, -2606,
                -1222, 32767, -1499, -3579, -2289, 32767, 908, 1087, -12010, 32767, 2061, -7214,
                -10191, 32767, -3695, -797, 4212, 32767, 7236, -8031, 1419, 32767, 3268, 399, 2195,
                32767, 4209, -4158, 16724, 32767, -3929, -908, 18738, 32767, 10030, -5226, 8337,
                32767, 3101, 5041, 6678, 32767, -631, -5937, 3588, 32767, 1405, 665, 2958, 32767,
                -11855, -2697, 11723, 32767, -11867, 12049, 17903, 32767, -4367, 1713, 5009, 32767,
                -1887, 5553, 188, 32767, 10241, -9301, -2257, 32767, -2895, -1472, -6266, 32767,
                2042, -6988, 231, 32767, 2084, -4825, 18534, 32767, 6534, -4522, 18739, 32767,
                9014, 6131, 12322, 32767, 948, -3901, 6550, 32767, 1323, 1016, 3641, 32767, -1525,
                4880, -1012, 32767, -2658, -222, 11555, 32767, -12002, 226, 17625, 32767, 727,
                -6344, 20942, 32767, -1533, 3645, 13670, 32767, 7541, -6309, 2878, 32767, 3877,
                -2477, 3989, 32767, 1320, -7403, 12389, 32767, 1057, 1667, 20954, 32767, 1099,
                -432, 27432, 32767, -2119, 6053, 19515, 32767, 7650, 460,
            ],
        ),
        (
            true,
            0,
            1,
            1,
            1,
            0,
            &[2, 5, 6, 4],
            &[
                13064, 32767, 20805, -3952, -3219, 32767, -1337, -838, 4098, 32767, 5631, 209,
                -6828, 32767, 5814, -1838, -4530, 32767, -614, 1128, -3599, 32767, -490, -1046,
                24070, 32767, 12430, -2655, 4921, 32767, -6884, 945, 8476, 32767, 8167, -1726,
                -7084, 32767, -3862, 2498, -9242, 32767, 5200, -1810, -4255, 32767, -1851, -371,
                22702, 32767, 3792, -1372, 14128, 32767, 9046, -1087, -9323, 32767, 3659, 425,
                -12710, 32767, 8093, -3791, -1988, 32767, 2096, 974, -5698, 32767, 3117, -1201,
                9785, 32767, 2315, 507, 5852, 32767, -2634, 1170, -7632, 32767, 6133, -2748,
                -10447, 32767, -5293, 1279, -501, 32767, 7487, 126, 763, 32767, -1566, -842, -1222,
                32767, -1426, -1157, -2289, 32767, 863, 351, -12010, 32767, 1960, -2332, -10191,
                32767, -3514, -258, 4212, 32767, 6882, -2597, 1419, 32767, 3108, 129, 2195, 32767,
                4003, -1344, 16724, 32767, -3736, -294, 18738, 32767, 9539, -1690, 8337, 32767,
                2949, 1630, 6678, 32767, -600, -1920, 3588, 32767, 1336, 215, 2958, 32767, -11275,
                -872, 11723, 32767, -11287, 3896, 17903, 32767, -4153, 554, 5009, 32767, -1795,
                1796, 188, 32767, 9740, -3007, -2257, 32767, -2753, -476, -6266, 32767, 1942,
                -2259, 231, 32767, 1982, -1560, 18534, 32767, 6214, -1462, 18739, 32767, 8573,
                1982, 12322, 32767, 901, -1261, 6550, 32767, 1258, 328, 3641, 32767, -1451, 1578,
                -1012, 32767, -2528, -72, 11555, 32767, -11415, 73, 17625, 32767, 691, -2051,
                20942, 32767, -1458, 1178, 13670, 32767, 7172, -2040, 2878, 32767, 3687, -801,
                3989, 32767, 1255, -2393, 12389, 32767, 1005, 539, 20954, 32767, 1045, -140, 27432,
                32767, -2015, 1957, 19515, 32767, 7276, 149,
            ],
        ),
        (
            true,
            1,
            2,
            1,
            1,
            3,
            &[2, 2, 5, 4],
            &[
                2857, 2857, 2857, 0, 2857, 2857, 0, 945, 2857, 2857, 2857, 0, 0, 2857, 0, 2498, 0,
                2857, 2857, 0, 2857, 2857, 2315, 507, 2857, 2857, 0, 1170, 0, 2857, 2857, 0, 0,
                2857, 0, 1279, 0, 2857, 2857, 126, 2857, 2857, 0, 0, 2857, 2857, 0, 2857, 2857,
                2857, 0, 554, 2857, 2857, 0, 1796, 188, 2857, 2857, 0, 2857, 2857, 0, 1578, 0,
                2857, 0, 0, 2857, 2857, 0, 73, 2857, 2857, 691, 0, 2857, 2857, 0, 1178,
            ],
        ),
        (
            true,
            0,
            2,
            2,
            1,
            1,
            &[2, 3, 3, 4],
            &[
                13064, 32767, 20805, 0, 4098, 32767, 5631, 209, 0, 32767, 0, 1128, 22702, 32767,
                3792, 0, 0, 32767, 3659, 425, 0, 32767, 2096, 974, 0, 32767, 0, 0, 0, 32767, 1960,
                0, 4212, 32767, 6882, 0, 2195, 32767, 4003, 0, 18738, 32767, 9539, 0, 6678, 32767,
                0, 0, 0, 32767, 1942, 0, 18534, 32767, 6214, 0, 12322, 32767, 901, 0, 2878, 32767,
                3687, 0, 12389, 32767, 1005, 539, 27432, 32767, 0, 1957,
            ],
        ),
        (
            true,
            0,
            1,
            1,
            2,
            0,
            &[2, 5, 6, 4],
            &[
                -8735, 32767, 6510, -1803, 25017, 32767, 13955, -3867, 20, 32767, -5154, 2307,
                -4645, 32767, 1429, 735, 9262, 32767, 4666, 1087, -8964, 32767, -5836, 955, -531,
                32767, -3364, 51, 19224, 32767, 2318, -753, -21229, 32767, 1904, -1000, 14763,
                32767, 5496, 330, -25741, 32767, -3266, -39, 8244, 32767, 3612, -1608, -8382,
                32767, -931, -2770, 25040, 32767, 6572, -1313, -3721, 32767, -4963, -235, -4456,
                32767, 13152, -3242, 6868, 32767, 9808, 279, -9483, 32767, -469, -832, -531, 32767,
                1808, 482, 19224, 32767, 7867, 2813, -21229, 32767, 4782, -2702, 14763, 32767,
                5344, -853, -25741, 32767, -7614, 621, 8244, 32767, 5048, 73, 8394, 32767, -3255,
                820, 4522, 32767, -1834, 77, 8101, 32767, 5936, -732, -2811, 32767, -5696, -530,
                1229, 32767, 1966, -1692, -4098, 32767, 1154, -910, -6043, 32767, -1334, -1377,
                20862, 32767, 445, 590, -13095, 32767, -9018, 553, 15184, 32767, 2713, 330, -8953,
                32767, -12206, 1547, 4102, 32767, 4481, -2172, 1514, 32767, 4868, -2346, -4347,
                32767, -7675, -200, 16687, 32767, 4074, -773, 10613, 32767, 1172, -218, 27568,
                32767, 12125, -3359, 6895, 32767, 2248, 186, -493, 32767, -1287, -2554, 24809,
                32767, -3455, -596, -1021, 32767, 3725, -1723, 15396, 32767, -4927, 2689, 4335,
                32767, 6958, 937, 4423, 32767, -376, 611, 1514, 32767, -5837, 1398, -4347, 32767,
                515, 1256, 16687, 32767, -3621, 1156, 10613, 32767, 4791, -1560, 27568, 32767,
                -4172, 1497, 6895, 32767, 2021, -1600, -823, 32767, -4224, -28, 13888, 32767, 3430,
                -54, 3018, 32767, -7435, -2475, 1895, 32767, 6809, -1014, 5236, 32767, -1126, -761,
                154, 32767, -1846, -558,
            ],
        ),
        (
            false,
            0,
            2,
            1,
            2,
            3,
            &[2, 3, 6, 4],
            &[
                0, 2857, 2857, 0, 2857, 2857, 2857, 0, 20, 2857, 0, 2857, 0, 2857, 1503, 2274,
                2857, 2857, 2857, 2857, 0, 2857, 0, 2857, 0, 2857, 0, 0, 2857, 2857, 2857, 0, 0,
                2857, 0, 0, 0, 2857, 2857, 0, 2857, 2857, 2857, 864, 0, 2857, 0, 0, 2857, 2857, 0,
                2536, 2857, 2857, 0, 238, 2857, 2857, 2857, 0, 0, 2857, 0, 0, 1229, 2857, 2067, 0,
                0, 2857, 1214, 0, 0, 2857, 0, 0, 2857, 2857, 468, 1824, 0, 2857, 0, 1711, 2857,
                2857, 2853, 1020, 0, 2857, 0, 2857, 2857, 2857, 2857, 0, 0, 2857, 0, 0, 2857, 2857,
                0, 0, 0, 2857, 2857, 0, 2857, 2857, 0, 2857, 2857, 2857, 2857, 2857, 2857, 2857, 0,
                1890, 0, 2857, 0, 0, 2857, 2857, 2857, 0, 2857, 2857, 0, 0, 1895, 2857, 2857, 0,
                2857, 2857, 0, 0, 154, 2857, 0, 0,
            ],
        ),
    ];

    #[test]
    fn matches_litert_bit_exactly() {
        for (per_channel, pad, sh, sw, dil, act, shape, want) in CASES {
            let o = opts(pad, sh, sw, dil, act);
            let (wq, bq) = if per_channel {
                (qp(&PCS, &[0; 4], 0), qp(&PCS.map(|s| s * IS), &[0; 4], 0))
            } else {
                (qp(&PCS[..1], &[0], 0), qp(&[PCS[0] * IS], &[0], 0))
            };
            for threads in [1, 2] {
                let (s, got) = QTest::new("CONV_2D", &o, DType::Int16)
                    .out_quant(qp(&[OS], &[0], 0))
                    .input(DType::Int16, &[2, 5, 6, 3], &X, false, qp(&[IS], &[0], 0))
                    .input(DType::Int8, &[4, 3, 2, 3], &W, true, wq.clone())
                    .input(DType::Int64, &[4], &B, threads == 1, bq.clone())
                    .run_i16(threads);
                assert_eq!(s, shape);
                assert_eq!(got, want, "{per_channel} {pad} {sh} {sw} {dil} {act}");
            }
        }
    }

    #[test]
    fn rejects_what_it_does_not_run() {
        let o = opts(0, 1, 1, 1, 0);
        let t = |x_zp: i64, bias: Option<DType>| {
            let t = QTest::new("CONV_2D", &o, DType::Int16)
                .out_quant(qp(&[OS], &[0], 0))
                .input(
                    DType::Int16,
                    &[2, 5, 6, 3],
                    &X,
                    false,
                    qp(&[IS], &[x_zp], 0),
                )
                .input(DType::Int8, &[4, 3, 2, 3], &W, true, qp(&PCS, &[0; 4], 0));
            match bias {
                Some(DType::Int32) => t.input(DType::Int32, &[4], &[0i32; 4], true, None),
                Some(_) => t.input(DType::Int64, &[4], &B, true, None),
                None => t.omitted(),
            }
            .build()
            .map(|_| ())
        };
        assert!(t(0, Some(DType::Int64)).is_ok());
        assert!(matches!(
            t(3, Some(DType::Int64)),
            Err(KernelError::Unsupported(_))
        ));
        assert!(matches!(
            t(0, Some(DType::Int32)),
            Err(KernelError::Unsupported(_))
        ));
        assert!(matches!(t(0, None), Err(KernelError::Unsupported(_))));
    }
}

#[cfg(test)]
#[path = "conv2d_int16_tests.rs"]
mod int32_bias_tests;
