// A PEM file a TLS setting names (a CA bundle, a certificate chain, a private key), read whole
// and bounded: the daemon's grpcs:// source and flagd-serve's sync server hand gRPC its text.
#pragma once

#include <string>
#include <string_view>

namespace flagd {

// The text of `path` when it holds a PEM block labelled `label` ("CERTIFICATE", "PRIVATE KEY":
// "RSA PRIVATE KEY" and the like match too); otherwise "" and `error` says why, naming the file
// as `noun` ("the CA file").
std::string read_pem_file(const std::string& path, std::string_view noun, std::string_view label, std::string& error);

}  // namespace flagd
