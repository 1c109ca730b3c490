"""Oracle tables for data-movement ops on quantized int8/uint8/int16
tensors (LiteRT builtin kernels): every input and output shares scale 0.25
and the dtype's zero point below, so padding ops fill with it.
Inputs are `seq` values, mirrored by the Rust tests.
Run: .venv/bin/python tools/oracle/data_movement.py > /tmp/movement_tables.rs
"""

import numpy as np
from oneop import s, model, run, tensor, ints

RANGES = {"i8": (-128, 127), "u8": (0, 255), "i16": (-32768, 32767)}
ZP = {"i8": -3, "u8": 131, "i16": 0}
SCALE = 0.25


def seq(dtype, n, offset=0):
    lo, hi = RANGES[dtype]
    i = np.arange(n, dtype=np.int64) + offset
    return lo + (i * 7919 + 13) % (hi - lo + 1)


def q(dtype, shape, const=None):
    return tensor(dtype, shape, SCALE, ZP[dtype], const=const)


def i32(shape, v):
    return tensor("i32", shape, const=v)


def opts(name, **fields):
    o = getattr(s, name + "T")()
    for k, v in fields.items():
        setattr(o, k, v)
    return (name, o)


# id: (op, data input shapes, extra const inputs (after the data inputs,
# in op order, as a function of dtype), output shapes, options)
def cases(d):
    return {
        "reshape": ("RESHAPE", [[2, 3, 4]], [i32([2], [4, 6])], [[4, 6]],
                    opts("ReshapeOptions", newShape=[4, 6])),
        "squeeze": ("SQUEEZE", [[1, 3, 1, 2]], [], [[3, 2]],
                    opts("SqueezeOptions", squeezeDims=[0, 2])),
        "expand_dims": ("EXPAND_DIMS", [[3, 2]], [i32([], -1)], [[3, 2, 1]], None),
        "transpose": ("TRANSPOSE", [[2, 3, 4]], [i32([3], [2, 0, 1])], [[4, 2, 3]], None),
        "strided_slice": ("STRIDED_SLICE", [[4, 5, 3]],
                          [i32([3], [1, -1, 0]), i32([3], [4, 0, 3]), i32([3], [2, -2, 1])],
                          [[2, 2, 3]], opts("StridedSliceOptions")),
        "strided_slice_masks": ("STRIDED_SLICE", [[4, 5, 3]],
                                [i32([3], [1, 2, 1]), i32([3], [3, 4, 2]), i32([3], [1, 1, 1])],
                                [[4, 3]], opts("StridedSliceOptions", beginMask=1, endMask=3,
                                               shrinkAxisMask=4)),
        "slice": ("SLICE", [[4, 5, 3]], [i32([3], [1, 2, 0]), i32([3], [2, -1, 2])],
                  [[2, 3, 2]], None),
        "gather0": ("GATHER", [[5, 3]], [i32([4], [4, 0, 2, 2])], [[4, 3]],
                    opts("GatherOptions", axis=0)),
        "gather1": ("GATHER", [[2, 5, 3]], [i32([2, 2], [1, 4, 3, 0])], [[2, 2, 2, 3]],
                    opts("GatherOptions", axis=1)),
        "pack": ("PACK", [[2, 3], [2, 3], [2, 3]], [], [[2, 3, 3]],
                 opts("PackOptions", valuesCount=3, axis=1)),
        "unpack": ("UNPACK", [[3, 2, 2]], [], [[3, 2], [3, 2]],
                   opts("UnpackOptions", num=2, axis=1)),
        "split": ("SPLIT", [[2, 6]], [], [[2, 2]] * 3, opts("SplitOptions", numSplits=3)),
        "split_v": ("SPLIT_V", [[2, 7]], [i32([3], [2, -1, 3]), i32([], 1)],
                    [[2, 2], [2, 2], [2, 3]], opts("SplitVOptions", numSplits=3)),
        "tile": ("TILE", [[2, 3]], [i32([2], [3, 2])], [[6, 6]], None),
        "depth_to_space": ("DEPTH_TO_SPACE", [[1, 2, 3, 8]], [], [[1, 4, 6, 2]],
                           opts("DepthToSpaceOptions", blockSize=2)),
        "space_to_depth": ("SPACE_TO_DEPTH", [[1, 4, 6, 2]], [], [[1, 2, 3, 8]],
                           opts("SpaceToDepthOptions", blockSize=2)),
        "space_to_batch": ("SPACE_TO_BATCH_ND", [[2, 5, 4, 2]],
                           [i32([2], [2, 2]), i32([2, 2], [1, 0, 0, 2])], [[8, 3, 3, 2]],
                           opts("SpaceToBatchNDOptions")),
        "space_to_batch_3d": ("SPACE_TO_BATCH_ND", [[1, 5, 2]],
                              [i32([1], [3]), i32([1, 2], [2, 2])], [[3, 3, 2]],
                              opts("SpaceToBatchNDOptions")),
        "batch_to_space": ("BATCH_TO_SPACE_ND", [[8, 2, 3, 1]],
                           [i32([2], [2, 2]), i32([2, 2], [0, 1, 1, 0])], [[2, 3, 5, 1]],
                           opts("BatchToSpaceNDOptions")),
        "batch_to_space_3d": ("BATCH_TO_SPACE_ND", [[6, 2, 2]],
                              [i32([1], [3]), i32([1, 2], [1, 2])], [[2, 3, 2]],
                              opts("BatchToSpaceNDOptions")),
        "pad": ("PAD", [[2, 3]], [i32([2, 2], [1, 0, 0, 2])], [[3, 5]], None),
        "pad4d": ("PAD", [[1, 2, 2, 3]], [i32([4, 2], [0, 0, 1, 1, 2, 0, 0, 1])],
                  [[1, 4, 4, 4]], None),
        "padv2": ("PADV2", [[2, 3]], [i32([2, 2], [0, 1, 2, 1]), q(d, [], RANGES[d][1] - 7)],
                  [[3, 6]], None),
        "mirror_reflect": ("MIRROR_PAD", [[3, 4]], [i32([2, 2], [1, 2, 2, 1])], [[6, 7]],
                           opts("MirrorPadOptions", mode=0)),
        "mirror_symmetric": ("MIRROR_PAD", [[3, 4]], [i32([2, 2], [1, 2, 2, 1])], [[6, 7]],
                             opts("MirrorPadOptions", mode=1)),
        "maximum": ("MAXIMUM", [[2, 3], [3]], [], [[2, 3]], None),
        "minimum": ("MINIMUM", [[2, 3], [3]], [], [[2, 3]], None),
    }


def main():
    print("// Generated by tools/oracle/data_movement.py.")
    print("// (case, dtype, output shapes, outputs concatenated)")
    print("const CASES: &[Case] = &[")
    for d in ("i8", "u8", "i16"):
        for name, (op, shapes, extra, out_shapes, options) in cases(d).items():
            feeds = []
            offset = 0
            for sh in shapes:
                n = int(np.prod(sh))
                feeds.append(seq(d, n, offset).reshape(sh))
                offset += n
            ins = [q(d, sh) for sh in shapes] + extra
            if op == "SPLIT":
                ins = [i32([], 1)] + ins
            outs = [q(d, sh) for sh in out_shapes]
            y = run(model(op, ins, outs, options), feeds)
            if isinstance(y, str):
                print(f"    // {name} {d}: {y}")
                continue
            for a, sh in zip(y, out_shapes):
                assert list(a.shape) == sh, (name, d, a.shape, sh)
            flat = np.concatenate([a.ravel() for a in y])
            shp = "&[" + ", ".join(f"&{list(a.shape)}" for a in y) + "]"
            print(f"    (\"{name}\", \"{d}\", {shp}, {ints(flat)}),")
    print("];")


if __name__ == "__main__":
    main()
