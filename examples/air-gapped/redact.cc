// Redacts personal data from a request body before it is stored or passed
// on: e-mail addresses become "[email]" and card-like numbers (13 to 19
// digits, spaces or dashes allowed between them) keep only their last four
// digits. The kind of processing that must stay on premises. C++ with the
// jinn SDK; the answer has the request's Content-Type and the counts in
// X-Redacted-Emails / X-Redacted-Cards.
#include <cctype>
#include <string>

#include "jinn.hpp"

namespace {

bool emailChar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-' || c == '+' ||
         c == '%';
}

// Replaces e-mail addresses; returns how many.
int redactEmails(std::string& text) {
  int count = 0;
  for (size_t at = text.find('@'); at != std::string::npos; at = text.find('@', at + 1)) {
    size_t start = at, end = at + 1;
    while (start > 0 && emailChar(text[start - 1])) --start;
    while (end < text.size() && emailChar(text[end])) ++end;
    const std::string domain = text.substr(at + 1, end - at - 1);
    const size_t dot = domain.find('.');
    if (start == at || dot == std::string::npos || dot == 0 || dot + 1 >= domain.size()) continue;
    text.replace(start, end - start, "[email]");
    at = start + 6;
    ++count;
  }
  return count;
}

// Masks runs of 13-19 digits (single spaces or dashes between them allowed)
// but their last four; returns how many.
int redactCards(std::string& text) {
  int count = 0;
  for (size_t i = 0; i < text.size();) {
    if (!std::isdigit(static_cast<unsigned char>(text[i])) ||
        (i > 0 && std::isdigit(static_cast<unsigned char>(text[i - 1])))) {
      ++i;
      continue;
    }
    size_t end = i, digits = 0;
    while (end < text.size()) {
      if (std::isdigit(static_cast<unsigned char>(text[end]))) {
        ++digits;
        ++end;
      } else if ((text[end] == ' ' || text[end] == '-') && end + 1 < text.size() &&
                 std::isdigit(static_cast<unsigned char>(text[end + 1]))) {
        ++end;
      } else {
        break;
      }
    }
    if (digits >= 13 && digits <= 19) {
      size_t keep = 4;
      for (size_t k = end; k-- > i;) {
        if (!std::isdigit(static_cast<unsigned char>(text[k]))) continue;
        if (keep > 0) {
          --keep;
        } else {
          text[k] = '*';
        }
      }
      ++count;
    }
    i = end;
  }
  return count;
}

}  // namespace

int main() {
  jinn::Request req;
  if (!jinn::readRequest(req)) return 1;
  std::string text = req.body;
  const int emails = redactEmails(text);
  const int cards = redactCards(text);
  jinn::Response res(200);
  const std::string* type = req.header("Content-Type");
  res.header("Content-Type", type ? *type : "text/plain; charset=utf-8");
  res.header("X-Redacted-Emails", std::to_string(emails));
  res.header("X-Redacted-Cards", std::to_string(cards));
  res.body = text;
  return res.send();
}
