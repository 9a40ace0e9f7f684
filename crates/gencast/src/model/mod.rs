//! The denoiser network: MLP blocks, norm conditioning, encoder, processor, decoder.
