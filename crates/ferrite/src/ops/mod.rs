//! Third-party custom ops, written on the public [`crate::custom`] API
//! only (the proof that it suffices), and registered on every default
//! [`OpResolver`].

mod detection;
mod mediapipe;

use crate::custom::OpResolver;

pub(crate) fn register_bundled(r: &mut OpResolver) {
    r.add(detection::DetectionPostProcess);
    r.add(mediapipe::Convolution2DTransposeBias);
    r.add(mediapipe::MaxPoolingWithArgmax2D);
    r.add(mediapipe::MaxUnpooling2D);
}
