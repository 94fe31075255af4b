//! `uniffi-bindgen`, built from the same uniffi crate as the library, so the
//! generated Kotlin/Swift always match its metadata:
//! `target/debug/uniffi-bindgen generate target/debug/libdeviceflow_uniffi.so --language kotlin --language swift --no-format --out-dir out`
fn main() {
    uniffi::uniffi_bindgen_main()
}
