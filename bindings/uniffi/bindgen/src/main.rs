//! `uniffi-bindgen`, built from the workspace's one uniffi (pinned exactly), so the
//! generated Kotlin/Swift always match the library's metadata:
//! `target/debug/uniffi-bindgen generate target/debug/libdeviceflow_uniffi.so --language kotlin --language swift --no-format --out-dir out`
fn main() {
    uniffi::uniffi_bindgen_main()
}
