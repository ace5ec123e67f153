// Option parsing as djb's sgetopt does it, so that messages and corner cases
// match the classic programs: options end at the first non-option, at "--"
// (consumed) or at "-" (kept); an unknown option prints
// "PROG: illegal option -- x" and a missing argument
// "PROG: option requires an argument -- x", where PROG is argv[0]'s basename.
#pragma once

namespace qbox {

class GetOpt {
 public:
  GetOpt(int argc, char** argv, const char* opts) : argc_(argc), argv_(argv), opts_(opts) {}
  // The next option character, '?' for a problem (after the message), or
  // -1 when the options are done; then index() is the first operand.
  int next();
  const char* arg() const { return arg_; }
  int index() const { return ind_; }
  char** rest() const { return argv_ + ind_; }
  void quiet() { report_ = false; }
  // Drops what is left of the current option cluster ("-Jxyz" after J:
  // "xyz"), as sendmail's -E and -J do with their optional argument.
  void skip_cluster() {
    if (pos_)
      while (argv_[ind_][pos_]) ++pos_;
  }

 private:
  int argc_;
  char** argv_;
  const char* opts_;
  const char* arg_ = nullptr;
  int ind_ = 1;
  int pos_ = 0;
  bool report_ = true;
  const char* prog() const;
};

}  // namespace qbox
