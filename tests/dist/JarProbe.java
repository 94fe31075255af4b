// Run against the dist jar on the host JVM (tests/dist/jar.py): the generated bindings load
// the jar's own linux-x86-64 library through JNA (uniffi checks the contract version and every
// API checksum on first use), then two calls cross the FFI: a provider preset comes back as a
// record, and the panic guard turns a Rust panic into FlowException with code "internal".
import deviceflow.Deviceflow_uniffiKt;
import deviceflow.FlowConfig;
import deviceflow.FlowException;

public class JarProbe {
    public static void main(String[] args) throws Exception {
        FlowConfig config = Deviceflow_uniffiKt.providerConfig("github", "probe-client", null, null);
        String code = "no exception";
        try {
            Deviceflow_uniffiKt.guardSelftestPanic();
        } catch (FlowException e) {
            code = e.code();
        }
        System.out.println("{\"client_id\":\"" + config.getClientId() + "\",\"panic_code\":\""
                + code + "\",\"device_endpoint\":\"" + config.getDeviceAuthorizationEndpoint() + "\"}");
    }
}
