//! Go quoting round trips: `unquote_word(quote_word(w)) == w` for every word,
//! and a command line printed as go prints it parses back to its argv.
#![no_main]

use godrv_script::lines::{parse_lines, Line};
use godrv_script::{join_words, quote_word, unquote_word};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|argv: Vec<String>| {
    for w in &argv {
        assert_eq!(&unquote_word(&quote_word(w)).unwrap(), w);
    }
    let mut words = vec!["/go/pkg/tool/linux_amd64/compile".to_owned()];
    words.extend(argv);
    let text = join_words(&words);
    // go's own suffixes are indistinguishable from such trailing words.
    if text.ends_with(" || true")
        || text.ends_with(" # internal")
        || text.contains(" # test for internal linking errors (")
    {
        return;
    }
    let lines = parse_lines(&text);
    assert_eq!(lines.len(), 1);
    match &lines[0].parsed {
        Ok(Line::Command(c)) => {
            let got: Vec<&str> = c.argv.iter().map(|w| w.value.as_str()).collect();
            assert_eq!(got, words);
        }
        other => panic!("{text:?} parsed as {other:?}"),
    }
});
