//! The string hashes behind TF's StringToHashBucket ops: farmhash's
//! Fingerprint64 (farmhashna's 64-bit hash), TF's legacy MurmurHash64A-style
//! `Hash64`, and SipHash-2-4 for the keyed ("strong") variant.

const K0: u64 = 0xc3a5_c85c_97cb_3127;
const K1: u64 = 0xb492_b66f_be98_f273;
const K2: u64 = 0x9ae1_6a3b_2f90_404f;

fn fetch64(s: &[u8], i: usize) -> u64 {
    let mut b = [0u8; 8];
    b.copy_from_slice(&s[i..i + 8]);
    u64::from_le_bytes(b)
}

fn fetch32(s: &[u8], i: usize) -> u64 {
    let mut b = [0u8; 4];
    b.copy_from_slice(&s[i..i + 4]);
    u64::from(u32::from_le_bytes(b))
}

fn shift_mix(v: u64) -> u64 {
    v ^ (v >> 47)
}

fn len16(u: u64, v: u64, mul: u64) -> u64 {
    let a = shift_mix((u ^ v).wrapping_mul(mul));
    let b = shift_mix((v ^ a).wrapping_mul(mul));
    b.wrapping_mul(mul)
}

fn len0to16(s: &[u8]) -> u64 {
    let n = s.len();
    let n64 = n as u64;
    if n >= 8 {
        let mul = K2.wrapping_add(n64 * 2);
        let a = fetch64(s, 0).wrapping_add(K2);
        let b = fetch64(s, n - 8);
        let c = b.rotate_right(37).wrapping_mul(mul).wrapping_add(a);
        let d = a.rotate_right(25).wrapping_add(b).wrapping_mul(mul);
        return len16(c, d, mul);
    }
    if n >= 4 {
        let mul = K2.wrapping_add(n64 * 2);
        let a = fetch32(s, 0);
        return len16(n64.wrapping_add(a << 3), fetch32(s, n - 4), mul);
    }
    if n > 0 {
        let (a, b, c) = (u32::from(s[0]), u32::from(s[n >> 1]), u32::from(s[n - 1]));
        let y = a.wrapping_add(b << 8);
        let z = (n as u32).wrapping_add(c << 2);
        return shift_mix(u64::from(y).wrapping_mul(K2) ^ u64::from(z).wrapping_mul(K0))
            .wrapping_mul(K2);
    }
    K2
}

fn len17to32(s: &[u8]) -> u64 {
    let n = s.len();
    let mul = K2.wrapping_add(n as u64 * 2);
    let a = fetch64(s, 0).wrapping_mul(K1);
    let b = fetch64(s, 8);
    let c = fetch64(s, n - 8).wrapping_mul(mul);
    let d = fetch64(s, n - 16).wrapping_mul(K2);
    len16(
        a.wrapping_add(b)
            .rotate_right(43)
            .wrapping_add(c.rotate_right(30))
            .wrapping_add(d),
        a.wrapping_add(b.wrapping_add(K2).rotate_right(18))
            .wrapping_add(c),
        mul,
    )
}

fn len33to64(s: &[u8]) -> u64 {
    let n = s.len();
    let mul = K2.wrapping_add(n as u64 * 2);
    let a = fetch64(s, 0).wrapping_mul(K2);
    let b = fetch64(s, 8);
    let c = fetch64(s, n - 8).wrapping_mul(mul);
    let d = fetch64(s, n - 16).wrapping_mul(K2);
    let y = a
        .wrapping_add(b)
        .rotate_right(43)
        .wrapping_add(c.rotate_right(30))
        .wrapping_add(d);
    let z = len16(
        y,
        a.wrapping_add(b.wrapping_add(K2).rotate_right(18))
            .wrapping_add(c),
        mul,
    );
    let e = fetch64(s, 16).wrapping_mul(mul);
    let f = fetch64(s, 24);
    let g = y.wrapping_add(fetch64(s, n - 32)).wrapping_mul(mul);
    let h = z.wrapping_add(fetch64(s, n - 24)).wrapping_mul(mul);
    len16(
        e.wrapping_add(f)
            .rotate_right(43)
            .wrapping_add(g.rotate_right(30))
            .wrapping_add(h),
        e.wrapping_add(f.wrapping_add(a).rotate_right(18))
            .wrapping_add(g),
        mul,
    )
}

/// Mixes 32 bytes at `i` into the seeds `a`, `b`.
fn weak32(s: &[u8], i: usize, mut a: u64, mut b: u64) -> (u64, u64) {
    let (w, x, y, z) = (
        fetch64(s, i),
        fetch64(s, i + 8),
        fetch64(s, i + 16),
        fetch64(s, i + 24),
    );
    a = a.wrapping_add(w);
    b = b.wrapping_add(a).wrapping_add(z).rotate_right(21);
    let c = a;
    a = a.wrapping_add(x).wrapping_add(y);
    b = b.wrapping_add(a.rotate_right(44));
    (a.wrapping_add(z), b.wrapping_add(c))
}

/// farmhash `Fingerprint64` of `s` (what TF's `Fingerprint64` returns).
pub fn fingerprint64(s: &[u8]) -> u64 {
    let n = s.len();
    match n {
        0..=16 => return len0to16(s),
        17..=32 => return len17to32(s),
        33..=64 => return len33to64(s),
        _ => {}
    }
    const SEED: u64 = 81;
    let mut x = SEED;
    let mut y = SEED.wrapping_mul(K1).wrapping_add(113);
    let mut z = shift_mix(y.wrapping_mul(K2).wrapping_add(113)).wrapping_mul(K2);
    let (mut v, mut w) = ((0u64, 0u64), (0u64, 0u64));
    x = x.wrapping_mul(K2).wrapping_add(fetch64(s, 0));
    // 64-byte blocks up to the last (possibly overlapping) 64 bytes.
    let end = (n - 1) / 64 * 64;
    let last = n - 64;
    let mut p = 0;
    while p != end {
        x = x
            .wrapping_add(y)
            .wrapping_add(v.0)
            .wrapping_add(fetch64(s, p + 8))
            .rotate_right(37)
            .wrapping_mul(K1);
        y = y
            .wrapping_add(v.1)
            .wrapping_add(fetch64(s, p + 48))
            .rotate_right(42)
            .wrapping_mul(K1);
        x ^= w.1;
        y = y.wrapping_add(v.0).wrapping_add(fetch64(s, p + 40));
        z = z.wrapping_add(w.0).rotate_right(33).wrapping_mul(K1);
        v = weak32(s, p, v.1.wrapping_mul(K1), x.wrapping_add(w.0));
        w = weak32(
            s,
            p + 32,
            z.wrapping_add(w.1),
            y.wrapping_add(fetch64(s, p + 16)),
        );
        std::mem::swap(&mut z, &mut x);
        p += 64;
    }
    let mul = K1.wrapping_add((z & 0xff) << 1);
    let p = last;
    w.0 = w.0.wrapping_add(((n - 1) & 63) as u64);
    v.0 = v.0.wrapping_add(w.0);
    w.0 = w.0.wrapping_add(v.0);
    x = x
        .wrapping_add(y)
        .wrapping_add(v.0)
        .wrapping_add(fetch64(s, p + 8))
        .rotate_right(37)
        .wrapping_mul(mul);
    y = y
        .wrapping_add(v.1)
        .wrapping_add(fetch64(s, p + 48))
        .rotate_right(42)
        .wrapping_mul(mul);
    x ^= w.1.wrapping_mul(9);
    y = y
        .wrapping_add(v.0.wrapping_mul(9))
        .wrapping_add(fetch64(s, p + 40));
    z = z.wrapping_add(w.0).rotate_right(33).wrapping_mul(mul);
    v = weak32(s, p, v.1.wrapping_mul(mul), x.wrapping_add(w.0));
    w = weak32(
        s,
        p + 32,
        z.wrapping_add(w.1),
        y.wrapping_add(fetch64(s, p + 16)),
    );
    std::mem::swap(&mut z, &mut x);
    len16(
        len16(v.0, w.0, mul)
            .wrapping_add(shift_mix(y).wrapping_mul(K0))
            .wrapping_add(z),
        len16(v.1, w.1, mul).wrapping_add(x),
        mul,
    )
}

/// TF's legacy `Hash64(data, n)` with its default seed 0xDECAFCAFFE.
pub fn tf_hash64(s: &[u8]) -> u64 {
    const M: u64 = 0xc6a4_a793_5bd1_e995;
    const SEED: u64 = 0xDE_CAFC_AFFE;
    let mut h = SEED ^ (s.len() as u64).wrapping_mul(M);
    let mut chunks = s.chunks_exact(8);
    for c in &mut chunks {
        let mut k = fetch64(c, 0).wrapping_mul(M);
        k ^= k >> 47;
        h = (h ^ k.wrapping_mul(M)).wrapping_mul(M);
    }
    let tail = chunks.remainder();
    if !tail.is_empty() {
        for (i, &b) in tail.iter().enumerate() {
            h ^= u64::from(b) << (8 * i);
        }
        h = h.wrapping_mul(M);
    }
    h ^= h >> 47;
    h = h.wrapping_mul(M);
    h ^ (h >> 47)
}

/// SipHash-2-4 of `s` under the 128-bit key `(k0, k1)`.
pub fn siphash24(k0: u64, k1: u64, s: &[u8]) -> u64 {
    let mut v = [
        k0 ^ 0x736f_6d65_7073_6575,
        k1 ^ 0x646f_7261_6e64_6f6d,
        k0 ^ 0x6c79_6765_6e65_7261,
        k1 ^ 0x7465_6462_7974_6573,
    ];
    fn round(v: &mut [u64; 4]) {
        v[0] = v[0].wrapping_add(v[1]);
        v[1] = v[1].rotate_left(13) ^ v[0];
        v[0] = v[0].rotate_left(32);
        v[2] = v[2].wrapping_add(v[3]);
        v[3] = v[3].rotate_left(16) ^ v[2];
        v[0] = v[0].wrapping_add(v[3]);
        v[3] = v[3].rotate_left(21) ^ v[0];
        v[2] = v[2].wrapping_add(v[1]);
        v[1] = v[1].rotate_left(17) ^ v[2];
        v[2] = v[2].rotate_left(32);
    }
    let mut chunks = s.chunks_exact(8);
    for c in &mut chunks {
        let m = fetch64(c, 0);
        v[3] ^= m;
        round(&mut v);
        round(&mut v);
        v[0] ^= m;
    }
    let mut last = (s.len() as u64) << 56;
    for (i, &b) in chunks.remainder().iter().enumerate() {
        last |= u64::from(b) << (8 * i);
    }
    v[3] ^= last;
    round(&mut v);
    round(&mut v);
    v[0] ^= last;
    v[2] ^= 0xff;
    for _ in 0..4 {
        round(&mut v);
    }
    v[0] ^ v[1] ^ v[2] ^ v[3]
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The prefixes of one 100-byte text, lengths 0..100: every length
    /// branch of the farmhash code and several 64-byte blocks.
    fn text() -> Vec<u8> {
        (0..100u32)
            .map(|i| b'a' + ((i * 7 + i / 5) % 26) as u8)
            .collect()
    }

    #[test]
    fn fingerprint64_matches_tensorflow() {
        // Values from TF 2.21 (tf.fingerprint of each prefix).
        let want: [u64; 100] = [
            0x9ae16a3b2f90404f,
            0xb3454265b6df75e3,
            0x65c94e7de3fd684f,
            0x2d5b0cbcc48fdc6b,
            0x7b803bc75cee3292,
            0x969ddbc7b16f9509,
            0x2948ec035f1c1491,
            0x17f9c872870d77a5,
            0x16411a6e99ebc784,
            0xd5fc588d2e4a4a87,
            0xc032dfa079af9105,
            0xbbec135bd110ed6b,
            0xca4de3282b5add78,
            0xd04927bc8b02293,
            0x6d8a0faaec6b68ff,
            0x6f3e3d21fbba286b,
            0x460b8e8d67bff3f2,
            0x637db2c0d2f27041,
            0xabc9729ea6f2d7cb,
            0xb51d00c657f32b64,
            0xe46088aa0e224fd3,
            0xad56ee76a3428fd4,
            0x256266c66e617c65,
            0xf8c65207cdc643b2,
            0x44f9538eb651aac1,
            0x2251d0ec672f877e,
            0x817c5a08f1aa8f1f,
            0x1861dc616b82e1,
            0x455f7b653ef2d09d,
            0x9a1db51f6bceb4b0,
            0x60e9abe083a511e0,
            0xc0a6cd84642da3ff,
            0x3a43470b3ad62c55,
            0x547d4dc30fbc7ca5,
            0x9d64510f515c181b,
            0x814eb0376e09d721,
            0x10128360da2db6e,
            0x7e9b718aa89870fc,
            0x3643b099a5264a2c,
            0x5f8df12730fbdc3,
            0x41372f5a2e110cdb,
            0xdf67441afa9a7af4,
            0xfbe0974779e4a7b0,
            0xeb79bb1f9d330d6e,
            0xc3b89a71ae24a78e,
            0x128411e9aa5f4771,
            0xfd9262c1aa315e86,
            0xa3b7580a16500560,
            0x5bc340ba5619fa3d,
            0xe8b9a2f101b4dbdc,
            0xff8f2679b659d514,
            0xbbd173790103e5e7,
            0xbbb29397826b5fb1,
            0xb584e039da642e2,
            0x8efa4f4aeba3a8d,
            0xde70948f77a1814e,
            0xdece341902d13730,
            0xa478c379babe2b62,
            0x9b59b4613662ceb4,
            0x5a7181ef9e61c000,
            0x73262184184a5a42,
            0xd0f60b0f04e853a4,
            0x4796966f44daf860,
            0x56d01a2b3c8926f2,
            0xb33062b34d9a8db5,
            0x7833fb73bca3ceb0,
            0x265a9ac226407a43,
            0x97d232d62ac24066,
            0x99ec0c4364da21f4,
            0x50fe31abcedc4f12,
            0xb627038fc228e55,
            0x18b48341567d28b6,
            0xdbdd162cd1fb4ee3,
            0xab2642053fbd0684,
            0x1fc802f919759fc7,
            0xd11a2d36c67d8fad,
            0xa60fb1d7d2899e49,
            0x1bb3b6525ebff03e,
            0x97d9a9a61fadb3a7,
            0x9304f56b0b39f961,
            0xe755ec00e561d8d5,
            0x59d61cfa9998b9bc,
            0x18c11e0e8e893800,
            0x43aac55f5d904923,
            0xaa8e9309d2c73e12,
            0x563c482bd8fc22dc,
            0x77261f22ffd01d68,
            0x4b743e53151db675,
            0x5d7770da6fce6e4,
            0xd5e2a82c83e614d2,
            0x563242b766298e58,
            0xfa536886f76787ea,
            0x48a038cc3b68cf1e,
            0x92f249ccd606974b,
            0x8c07224dfc8a536e,
            0xca4eb48a8c3e691e,
            0xfae3ab96417e069a,
            0x2d1e1feaa377ab0a,
            0x49762058b6951de,
            0xf19a23fe24963ee3,
        ];
        let t = text();
        for (n, w) in want.iter().enumerate() {
            assert_eq!(fingerprint64(&t[..n]), *w, "length {n}");
        }
    }

    #[test]
    fn legacy_hash64_matches_tensorflow() {
        // Values from TF 2.21: tf.strings.to_hash_bucket(prefixes, 2**63 - 1).
        let want: [u64; 100] = [
            105434511174508092,
            2996632905371535868,
            2185148402107861707,
            265508743387212838,
            5576138695436390447,
            5749906495721782681,
            2604704103452567592,
            8529531020744330837,
            4966933956579157697,
            5211804491794752000,
            5789607377863277332,
            9213766018083001022,
            8628848069537126279,
            2193798214005716997,
            5505715515498053267,
            3060741418397447414,
            58350196048988345,
            1896597295406680951,
            7246548291969731420,
            2200796174473082260,
            9030842257602591433,
            4266791223736075452,
            8727979398969804392,
            2682305283960078186,
            874176902810114667,
            1498906645154433522,
            3914245128324295953,
            6471825269908165403,
            1908226408013512229,
            1140651709505296008,
            8085219623619755249,
            2113740146741029066,
            5876691289592148281,
            8275702821215078869,
            4523970635695319037,
            7802913009553369115,
            6557486821038351462,
            2547049847418418916,
            6274528638549862155,
            1977105603123650338,
            4017148059143223007,
            121363520405637868,
            46446983539134538,
            576811529258292644,
            3343492822477037910,
            1811781093490874084,
            3057507397266115267,
            8021038958850302000,
            1439593389310894570,
            692005950178343877,
            9071157652116089089,
            97170003960080260,
            6915329572108847858,
            2808847495608794900,
            3183058537564744475,
            5823908796442978599,
            7082789550918423067,
            5579315408906346289,
            3880562003004000622,
            1999305027969978934,
            2941490196877181774,
            1337306090089201128,
            318097620702294777,
            7360688579100300802,
            4246433001644292662,
            1377513323003574294,
            293576307655282614,
            1827016435499460981,
            7848435083916791688,
            8792870690840119048,
            8999660933462059714,
            5469493151508273343,
            2537864523687402259,
            5585866103165543139,
            3224730252198431904,
            2456440142070584598,
            9076068250603779753,
            3485995999395583314,
            3371172283567802226,
            9008685083498352566,
            1684663046629589574,
            2902900341342294259,
            556433509404176422,
            380476351942872187,
            1344550639574887480,
            1391396067848935266,
            8885877278848514309,
            9083825524993363433,
            8478111381891354722,
            125535225185510329,
            7476875086172098980,
            4195537072506362850,
            1194525083088773463,
            2773735739393134169,
            3228099222372262938,
            4186444935552331388,
            2128672353337208106,
            3711083123637654608,
            9004015605026904248,
            5043332594688982126,
        ];
        let t = text();
        for (n, w) in want.iter().enumerate() {
            assert_eq!(tf_hash64(&t[..n]) % (i64::MAX as u64), *w, "length {n}");
        }
    }

    #[test]
    fn siphash_matches_tensorflow() {
        // Values from TF 2.21: tf.strings.to_hash_bucket_strong(prefixes,
        // 2**63 - 1, key=[1, 2]).
        let want: [u64; 40] = [
            443797209252341628,
            5158252350249958646,
            5509642438778789272,
            1963296272526499802,
            8010836431548704254,
            4169140026074657742,
            8920245905812307441,
            1731961734137644641,
            408962021895944751,
            797796730210594132,
            124518129815464623,
            5238255138618618243,
            4512129127692451843,
            8144453149387470501,
            5887203562704994816,
            1335712946911031808,
            4978868186788344732,
            9077201411602762043,
            5388014977673897800,
            1136802796720718221,
            3951038421427564104,
            1019945288080965940,
            1234351061972556222,
            735926932195006832,
            6449348343550332344,
            8122538655720099886,
            1299992000047158470,
            54496729309866936,
            2928870863620206701,
            4027596660263690582,
            1285572731498680493,
            7565315714469938991,
            1995097690343562294,
            2901297813457388067,
            7106391119575037916,
            7268949663436764939,
            1854078800432607962,
            1871498651626338075,
            7219584532503439914,
            3908623876613153741,
        ];
        let t = text();
        for (n, w) in want.iter().enumerate() {
            assert_eq!(
                siphash24(1, 2, &t[..n]) % (i64::MAX as u64),
                *w,
                "length {n}"
            );
        }
    }
}
