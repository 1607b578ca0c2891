// Throwaway TLS material for tests, made with the `openssl` command in a directory of its own: a
// CA, a server certificate it signed for 127.0.0.1 and localhost with the server's key, and a
// second CA that signed nothing here (a client trusting it must refuse the server). Valid for two
// days; the keys are P-256, quick to make.
#pragma once

#include <cstdlib>
#include <fstream>
#include <stdexcept>
#include <string>

#include "child_process.hpp"
#include "scratch_directory.hpp"

namespace flagd::test {

class TlsFiles {
 public:
  TlsFiles() : directory_("flagd-tls") {
    std::ofstream(directory_ / "server.ext") << "subjectAltName = IP:127.0.0.1, DNS:localhost\n"
                                                 "basicConstraints = critical, CA:FALSE\n"
                                                 "keyUsage = critical, digitalSignature\n"
                                                 "extendedKeyUsage = serverAuth\n";
    make_ca("ca", "flagd test CA");
    make_ca("other-ca", "flagd unrelated test CA");
    openssl("req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj /CN=localhost -keyout " +
            server_key() + " -out " + (directory_ / "server.csr"));
    openssl("x509 -req -days 2 -in " + (directory_ / "server.csr") + " -CA " + ca_cert() + " -CAkey " +
            (directory_ / "ca.key") + " -CAcreateserial -extfile " + (directory_ / "server.ext") + " -out " +
            server_cert());
  }

  std::string ca_cert() const { return directory_ / "ca.pem"; }
  std::string server_cert() const { return directory_ / "server.pem"; }
  std::string server_key() const { return directory_ / "server.key"; }
  std::string other_ca_cert() const { return directory_ / "other-ca.pem"; }
  const std::string& directory() const noexcept { return directory_.path(); }

 private:
  void make_ca(const std::string& name, const std::string& common_name) {
    openssl("req -x509 -days 2 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj '/CN=" + common_name +
            "' -addext 'basicConstraints=critical,CA:TRUE' -addext 'keyUsage=critical,keyCertSign,cRLSign'" +
            " -keyout " + (directory_ / (name + ".key")) + " -out " + (directory_ / (name + ".pem")));
  }
  void openssl(const std::string& arguments) {
    const std::string log = directory_ / "openssl.log";
    const std::string command = "openssl " + arguments + " >" + log + " 2>&1";
    if (std::system(command.c_str()) != 0) {
      throw std::runtime_error("openssl failed: " + command + "\n" + read_file(log));
    }
  }

  ScratchDirectory directory_;
};

}  // namespace flagd::test
