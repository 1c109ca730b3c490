//! Builtin operator options, declared field by field in schema order.
//!
//! The field order of each table is its field id, and the position of each
//! table in its union is its type tag; both are facts of the TFLite schema
//! (version 3). Enum-valued fields keep their raw integer here: the graph
//! layer gives them meaning and rejects values it does not know.

use crate::builder::{Node, TableNode};
use crate::error::{FormatError, Result};
use crate::fb::Table;
use crate::field::Field;

macro_rules! default_or {
    ($ty:ty;) => {
        <$ty>::default()
    };
    ($ty:ty; $d:expr) => {
        $d
    };
}

macro_rules! option_tables {
    ($union:ident { $( $tag:literal $name:ident { $( $field:ident : $ty:ty $(= $default:expr)? ),* $(,)? } )* }) => {
        $(
            #[derive(Debug, Clone, PartialEq)]
            pub struct $name { $( pub $field: $ty, )* }

            impl Default for $name {
                fn default() -> Self {
                    Self { $( $field: default_or!($ty; $($default)?), )* }
                }
            }

            impl $name {
                #[allow(unused_variables, unused_mut, unused_assignments)]
                fn read(t: &Table<'_, '_>) -> Result<Self> {
                    let d = Self::default();
                    let mut id = 0u16;
                    Ok(Self { $( $field: { let v = Field::read(t, id, d.$field.clone())?; id += 1; v }, )* })
                }

                #[allow(unused_variables, unused_mut, unused_assignments)]
                fn write(&self, t: &mut TableNode<'_>) {
                    let d = Self::default();
                    let mut id = 0u16;
                    $( self.$field.write(t, id, &d.$field); id += 1; )*
                }
            }
        )*

        /// One value of the schema union of the same name.
        #[derive(Debug, Clone, PartialEq, Default)]
        pub enum $union {
            #[default]
            None,
            $( $name($name), )*
            /// A type tag newer than this schema declaration; kept so the
            /// model still loads, but it cannot be written back.
            Unknown(u8),
        }

        impl $union {
            pub fn type_tag(&self) -> u8 {
                match self {
                    $union::None => 0,
                    $( $union::$name(_) => $tag, )*
                    $union::Unknown(t) => *t,
                }
            }

            /// The schema name of the table, e.g. `Conv2DOptions`.
            pub fn table_name(&self) -> &'static str {
                match self {
                    $union::None => "NONE",
                    $( $union::$name(_) => stringify!($name), )*
                    $union::Unknown(_) => "unknown",
                }
            }

            pub(crate) fn read(tag: u8, value: Option<Table<'_, '_>>) -> Result<Self> {
                // A tag without a value reads as all-default fields, which is
                // what LiteRT's builtin option parsing does.
                match tag {
                    0 => Ok($union::None),
                    $( $tag => Ok($union::$name(match value {
                        Some(t) => $name::read(&t).map_err(|e| e.within(stringify!($name)))?,
                        None => $name::default(),
                    })), )*
                    other => Ok($union::Unknown(other)),
                }
            }

            pub(crate) fn write(&self, t: &mut TableNode<'_>, type_id: u16, value_id: u16) -> Result<()> {
                let mut node = TableNode::new();
                match self {
                    $union::None => return Ok(()),
                    $( $union::$name(o) => o.write(&mut node), )*
                    $union::Unknown(tag) => {
                        return Err(FormatError::Write(format!(
                            "{} type {tag} is not known to this writer", stringify!($union)
                        )))
                    }
                }
                t.scalar_always(type_id, self.type_tag());
                t.child(value_id, Node::Table(node));
                Ok(())
            }
        }
    };
}

option_tables!(BuiltinOptions {
    1 Conv2DOptions { padding: i8, stride_w: i32, stride_h: i32, fused_activation_function: i8,
        dilation_w_factor: i32 = 1, dilation_h_factor: i32 = 1, quantized_bias_type: i8 }
    2 DepthwiseConv2DOptions { padding: i8, stride_w: i32, stride_h: i32, depth_multiplier: i32,
        fused_activation_function: i8, dilation_w_factor: i32 = 1, dilation_h_factor: i32 = 1 }
    3 ConcatEmbeddingsOptions { num_channels: i32, num_columns_per_channel: Option<Vec<i32>>,
        embedding_dim_per_channel: Option<Vec<i32>> }
    4 LSHProjectionOptions { kind: i8 }
    5 Pool2DOptions { padding: i8, stride_w: i32, stride_h: i32, filter_width: i32, filter_height: i32,
        fused_activation_function: i8 }
    6 SVDFOptions { rank: i32, fused_activation_function: i8, asymmetric_quantize_inputs: bool }
    7 RNNOptions { fused_activation_function: i8, asymmetric_quantize_inputs: bool }
    8 FullyConnectedOptions { fused_activation_function: i8, weights_format: i8, keep_num_dims: bool,
        asymmetric_quantize_inputs: bool, quantized_bias_type: i8 }
    9 SoftmaxOptions { beta: f32 }
    10 ConcatenationOptions { axis: i32, fused_activation_function: i8 }
    11 AddOptions { fused_activation_function: i8, pot_scale_int16: bool = true }
    12 L2NormOptions { fused_activation_function: i8 }
    13 LocalResponseNormalizationOptions { radius: i32, bias: f32, alpha: f32, beta: f32 }
    14 LSTMOptions { fused_activation_function: i8, cell_clip: f32, proj_clip: f32, kernel_type: i8,
        asymmetric_quantize_inputs: bool }
    15 ResizeBilinearOptions { new_height_deprecated: i32, new_width_deprecated: i32,
        align_corners: bool, half_pixel_centers: bool }
    16 CallOptions { subgraph: u32 }
    17 ReshapeOptions { new_shape: Option<Vec<i32>> }
    18 SkipGramOptions { ngram_size: i32, max_skip_size: i32, include_all_ngrams: bool }
    19 SpaceToDepthOptions { block_size: i32 }
    20 EmbeddingLookupSparseOptions { combiner: i8 }
    21 MulOptions { fused_activation_function: i8 }
    22 PadOptions {}
    23 GatherOptions { axis: i32, batch_dims: i32 }
    24 BatchToSpaceNDOptions {}
    25 SpaceToBatchNDOptions {}
    26 TransposeOptions {}
    27 ReducerOptions { keep_dims: bool }
    28 SubOptions { fused_activation_function: i8, pot_scale_int16: bool = true }
    29 DivOptions { fused_activation_function: i8 }
    30 SqueezeOptions { squeeze_dims: Option<Vec<i32>> }
    31 SequenceRNNOptions { time_major: bool, fused_activation_function: i8, asymmetric_quantize_inputs: bool }
    32 StridedSliceOptions { begin_mask: i32, end_mask: i32, ellipsis_mask: i32, new_axis_mask: i32,
        shrink_axis_mask: i32, offset: bool }
    33 ExpOptions {}
    34 TopKV2Options {}
    35 SplitOptions { num_splits: i32 }
    36 LogSoftmaxOptions {}
    37 CastOptions { in_data_type: i8, out_data_type: i8 }
    38 DequantizeOptions {}
    39 MaximumMinimumOptions {}
    40 ArgMaxOptions { output_type: i8 }
    41 LessOptions {}
    42 NegOptions {}
    43 PadV2Options {}
    44 GreaterOptions {}
    45 GreaterEqualOptions {}
    46 LessEqualOptions {}
    47 SelectOptions {}
    48 SliceOptions {}
    49 TransposeConvOptions { padding: i8, stride_w: i32, stride_h: i32, fused_activation_function: i8,
        quantized_bias_type: i8 }
    50 SparseToDenseOptions { validate_indices: bool }
    51 TileOptions {}
    52 ExpandDimsOptions {}
    53 EqualOptions {}
    54 NotEqualOptions {}
    55 ShapeOptions { out_type: i8 }
    56 PowOptions {}
    57 ArgMinOptions { output_type: i8 }
    58 FakeQuantOptions { min: f32, max: f32, num_bits: i32, narrow_range: bool }
    59 PackOptions { values_count: i32, axis: i32 }
    60 LogicalOrOptions {}
    61 OneHotOptions { axis: i32 }
    62 LogicalAndOptions {}
    63 LogicalNotOptions {}
    64 UnpackOptions { num: i32, axis: i32 }
    65 FloorDivOptions {}
    66 SquareOptions {}
    67 ZerosLikeOptions {}
    68 FillOptions {}
    69 BidirectionalSequenceLSTMOptions { fused_activation_function: i8, cell_clip: f32, proj_clip: f32,
        merge_outputs: bool, time_major: bool = true, asymmetric_quantize_inputs: bool }
    70 BidirectionalSequenceRNNOptions { time_major: bool, fused_activation_function: i8,
        merge_outputs: bool, asymmetric_quantize_inputs: bool }
    71 UnidirectionalSequenceLSTMOptions { fused_activation_function: i8, cell_clip: f32, proj_clip: f32,
        time_major: bool, asymmetric_quantize_inputs: bool, diagonal_recurrent_tensors: bool }
    72 FloorModOptions {}
    73 RangeOptions {}
    74 ResizeNearestNeighborOptions { align_corners: bool, half_pixel_centers: bool }
    75 LeakyReluOptions { alpha: f32 }
    76 SquaredDifferenceOptions {}
    77 MirrorPadOptions { mode: i8 }
    78 AbsOptions {}
    79 SplitVOptions { num_splits: i32 }
    80 UniqueOptions { idx_out_type: i8 = 2 }
    81 ReverseV2Options {}
    82 AddNOptions {}
    83 GatherNdOptions {}
    84 CosOptions {}
    85 WhereOptions {}
    86 RankOptions {}
    87 ReverseSequenceOptions { seq_dim: i32, batch_dim: i32 }
    88 MatrixDiagOptions {}
    89 QuantizeOptions {}
    90 MatrixSetDiagOptions {}
    91 HardSwishOptions {}
    92 IfOptions { then_subgraph_index: i32, else_subgraph_index: i32 }
    93 WhileOptions { cond_subgraph_index: i32, body_subgraph_index: i32 }
    94 DepthToSpaceOptions { block_size: i32 }
    95 NonMaxSuppressionV4Options {}
    96 NonMaxSuppressionV5Options {}
    97 ScatterNdOptions {}
    98 SelectV2Options {}
    99 DensifyOptions {}
    100 SegmentSumOptions {}
    101 BatchMatMulOptions { adj_x: bool, adj_y: bool, asymmetric_quantize_inputs: bool }
    102 CumsumOptions { exclusive: bool, reverse: bool }
    103 CallOnceOptions { init_subgraph_index: i32 }
    104 BroadcastToOptions {}
    105 Rfft2dOptions {}
    106 Conv3DOptions { padding: i8, stride_d: i32, stride_w: i32, stride_h: i32, fused_activation_function: i8,
        dilation_d_factor: i32 = 1, dilation_w_factor: i32 = 1, dilation_h_factor: i32 = 1 }
    107 HashtableOptions { table_id: i32, key_dtype: i8, value_dtype: i8 }
    108 HashtableFindOptions {}
    109 HashtableImportOptions {}
    110 HashtableSizeOptions {}
    111 VarHandleOptions { container: Option<String>, shared_name: Option<String> }
    112 ReadVariableOptions {}
    113 AssignVariableOptions {}
    114 RandomOptions { seed: i64, seed2: i64 }
    115 BucketizeOptions { boundaries: Option<Vec<f32>> }
    116 GeluOptions { approximate: bool }
    117 DynamicUpdateSliceOptions {}
    118 UnsortedSegmentProdOptions {}
    119 UnsortedSegmentMaxOptions {}
    120 UnsortedSegmentMinOptions {}
    121 UnsortedSegmentSumOptions {}
    122 ATan2Options {}
    123 SignOptions {}
    124 BitcastOptions {}
    125 BitwiseXorOptions {}
    126 RightShiftOptions {}
});

option_tables!(BuiltinOptions2 {
    1 StablehloConcatenateOptions { dimension: i64 }
    2 StablehloBroadcastInDimOptions { broadcast_dimensions: Option<Vec<i64>> }
    3 StablehloSliceOptions { start_indices: Option<Vec<i64>>, limit_indices: Option<Vec<i64>>,
        strides: Option<Vec<i64>> }
    4 StablehloConvolutionOptions { window_strides: Option<Vec<i64>>, padding: Option<Vec<i64>>,
        lhs_dilation: Option<Vec<i64>>, rhs_dilation: Option<Vec<i64>>, window_reversal: Option<Vec<bool>>,
        input_batch_dimension: i64, input_feature_dimension: i64, input_spatial_dimensions: Option<Vec<i64>>,
        kernel_input_feature_dimension: i64, kernel_output_feature_dimension: i64,
        kernel_spatial_dimensions: Option<Vec<i64>>, output_batch_dimension: i64,
        output_feature_dimension: i64, output_spatial_dimensions: Option<Vec<i64>>,
        feature_group_count: i64, batch_group_count: i64, precision_config: Option<Vec<u32>> }
    5 StablehloCustomCallOptions { call_target_name: Option<String>, has_side_effect: bool,
        backend_config: Option<String>, api_version: i32, called_computations: Option<Vec<i32>>,
        custom_attributes: Option<Vec<u8>> }
    6 StablehloReduceOptions { dimensions: Option<Vec<i64>>, body_subgraph_index: i32 }
    7 StablehloScatterOptions { indices_are_sorted: bool, update_window_dims: Option<Vec<i64>>,
        inserted_window_dims: Option<Vec<i64>>, scatter_dims_to_operand_dims: Option<Vec<i64>>,
        index_vector_dim: i64, unique_indices: bool, update_computation_subgraph_index: i32 }
    8 StablehloCompareOptions { comparison_direction: u32, compare_type: u32 }
    9 StablehloDynamicSliceOptions { slice_sizes: Option<Vec<i64>> }
    10 StablehloPadOptions { edge_padding_low: Option<Vec<i64>>, edge_padding_high: Option<Vec<i64>>,
        interior_padding: Option<Vec<i64>> }
    11 StablehloIotaOptions { iota_dimension: i64 }
    12 StablehloDotGeneralOptions { lhs_batching_dimensions: Option<Vec<i64>>,
        rhs_batching_dimensions: Option<Vec<i64>>, lhs_contracting_dimensions: Option<Vec<i64>>,
        rhs_contracting_dimensions: Option<Vec<i64>>, precision_config: Option<Vec<u32>> }
    13 StablehloReduceWindowOptions { window_dimensions: Option<Vec<i64>>, window_strides: Option<Vec<i64>>,
        base_dilations: Option<Vec<i64>>, window_dilations: Option<Vec<i64>>, padding: Option<Vec<i64>>,
        body_subgraph_index: i32 }
    14 StablehloSortOptions { dimension: i64, is_stable: bool, comparator_subgraph_index: i32 }
    15 StablehloWhileOptions { cond_subgraph_index: i32, body_subgraph_index: i32 }
    16 StablehloGatherOptions { offset_dims: Option<Vec<i64>>, collapsed_slice_dims: Option<Vec<i64>>,
        start_index_map: Option<Vec<i64>>, index_vector_dim: i64, slice_sizes: Option<Vec<i64>>,
        indices_are_sorted: bool }
    17 StablehloTransposeOptions { permutation: Option<Vec<i64>> }
    18 DilateOptions {}
    19 StablehloRngBitGeneratorOptions { algorithm: i8 }
    20 ReduceWindowOptions { reduce_function: i32 }
    21 StableHLOCompositeOptions { name: Option<String>, decomposition_subgraph_index: i32,
        composite_attributes: Option<Vec<u8>>, composite_attributes_format: i8, version: i32 }
});
