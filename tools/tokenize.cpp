// stablepose tokenize: prompts in; the 77 CLIP token ids of the SD 1.x text encoder out, a JSON array a line.
#include <iostream>

#include "commands.h"
#include "stablepose/error.h"
#include "stablepose/sd/clip_tokenizer.h"

namespace stablepose::tools {

void add_tokenize_command(CLI::App& app) {
    auto vocab = std::make_shared<std::string>();
    auto file = std::make_shared<std::string>();
    auto texts = std::make_shared<std::vector<std::string>>();
    auto normalization = std::make_shared<std::string>("ftfy");
    auto* cmd =
        app.add_subcommand("tokenize", "Print the 77 CLIP token ids of each prompt (docs/tokenize.md)");
    cmd->add_option("--vocab", *vocab,
                    "bpe_simple_vocab_16e6.txt.gz, vocab.json, merges.txt or a folder with both HF files "
                    "(default: the vendored OpenAI vocabulary)");
    cmd->add_option("--file", *file,
                    "UTF-8 text file, one prompt per line (tokenized before the TEXT arguments)");
    cmd->add_option(
           "--normalization", *normalization,
           "ftfy: the slow transformers 4 CLIPTokenizer with ftfy, as the official code ran (default); "
           "transformers: transformers 5 CLIPTokenizer, as diffusers loads it today")
        ->check(CLI::IsMember({"transformers", "ftfy"}));
    cmd->add_option("text", *texts, "Prompts (put -- before a prompt that starts with '-')");
    cmd->callback([=] {
        const ClipTokenizerOptions options{parse_text_normalization(*normalization)};
        auto prompts = file->empty() ? std::vector<std::string>{} : read_prompt_lines(*file);
        prompts.insert(prompts.end(), texts->begin(), texts->end());
        if (prompts.empty())
            fail("nothing to tokenize", "TEXT arguments or --file PROMPTS.txt", "neither",
                 "e.g. stablepose tokenize \"a photo of a cat\"");
        const auto tokenizer =
            vocab->empty() ? ClipTokenizer::vendored(options) : ClipTokenizer::from_file(*vocab, options);
        for (const auto& prompt : prompts) std::cout << ids_to_json(tokenizer.encode_padded(prompt)) << '\n';
    });
}

}  // namespace stablepose::tools
