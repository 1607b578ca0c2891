// A POST on loopback with libcurl, for tests of the OFREP endpoint: status, body, ETag.
#pragma once

#include <curl/curl.h>

#include <string>
#include <vector>

namespace flagd::test {

struct HttpAnswer {
  long status = 0;  // 0: no answer (the connection failed)
  std::string body;
  std::string etag;
};

// `headers_to_add`: more request headers, each "Name: value".
inline HttpAnswer http_request(const std::string& url, const std::string& body, const std::string& if_none_match = "",
                               const char* method = "POST", const std::vector<std::string>& headers_to_add = {}) {
  HttpAnswer answer;
  CURL* curl = curl_easy_init();
  if (curl == nullptr) return answer;
  const auto on_body = +[](char* data, size_t size, size_t count, void* out) {
    static_cast<std::string*>(out)->append(data, size * count);
    return size * count;
  };
  const auto on_header = +[](char* data, size_t size, size_t count, void* out) {
    const std::string line(data, size * count);
    if (line.size() > 5 && (line.compare(0, 5, "ETag:") == 0 || line.compare(0, 5, "etag:") == 0)) {
      std::string value = line.substr(5);
      while (!value.empty() && (value.front() == ' ')) value.erase(0, 1);
      while (!value.empty() && (value.back() == '\r' || value.back() == '\n' || value.back() == ' ')) value.pop_back();
      *static_cast<std::string*>(out) = value;
    }
    return size * count;
  };
  curl_slist* headers = curl_slist_append(nullptr, "Content-Type: application/json");
  if (!if_none_match.empty()) headers = curl_slist_append(headers, ("If-None-Match: " + if_none_match).c_str());
  for (const std::string& header : headers_to_add) headers = curl_slist_append(headers, header.c_str());
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method);
  if (std::string(method) == "POST") curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body.c_str());
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &answer.body);
  curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(curl, CURLOPT_HEADERDATA, &answer.etag);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT, 20L);
  if (curl_easy_perform(curl) == CURLE_OK) curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &answer.status);
  curl_slist_free_all(headers);
  curl_easy_cleanup(curl);
  return answer;
}

}  // namespace flagd::test
