// Training checkpoints (checkpoint.h).
#include "stablepose/train/checkpoint.h"

#include <algorithm>
#include <fstream>
#include <unistd.h>

#include "stablepose/error.h"
#include "stablepose/io/atomic_file.h"
#include "stablepose/io/safetensors.h"

namespace stablepose {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

constexpr const char* kPrefix = "step-";

int64_t step_of(const fs::path& dir) {
    const auto name = dir.filename().string();
    if (name.rfind(kPrefix, 0) != 0) return -1;
    try {
        size_t used = 0;
        const auto step = std::stoll(name.substr(5), &used);
        return used == name.size() - 5 ? step : -1;
    } catch (const std::exception&) {
        return -1;
    }
}

json read_json_file(const fs::path& file) {
    std::ifstream in(file);
    if (!in) fail("checkpoint incomplete: cannot read " + file.string(), "a file written by stablepose train", "missing",
                  "resume from another checkpoint (RUN/checkpoints/step-*)");
    auto j = json::parse(in, nullptr, false);
    if (j.is_discarded())
        fail("checkpoint file " + file.string() + " is not valid JSON", "the JSON stablepose train wrote",
             "a parse error (the file is damaged)",
             "resume from another checkpoint (RUN/checkpoints/step-*)");
    return j;
}

}  // namespace

json TrainerState::to_json() const {
    json r = json::object();
    for (const auto& [name, t] : rng) r[name] = tensor_to_hex(t);
    return {{"format", kTrainCheckpointFormat},
            {"format_version", kTrainCheckpointVersion},
            {"step", step},
            {"cursor", {{"epoch", cursor.epoch}, {"batch", cursor.batch}}},
            {"samples_seen", samples_seen},
            {"nonfinite_streak", nonfinite_streak},
            {"rng", r},
            {"loss_scaler", loss_scaler},
            {"paths", paths},
            {"model_hashes", model_hashes}};
}

TrainerState TrainerState::from_json(const json& j, const std::string& source) {
    if (j.value("format", std::string()) != kTrainCheckpointFormat)
        fail(source + ": not a training checkpoint", kTrainCheckpointFormat, j.value("format", std::string("none")));
    if (j.value("format_version", -1) != kTrainCheckpointVersion)
        fail(source + ": unsupported checkpoint version", std::to_string(kTrainCheckpointVersion),
             std::to_string(j.value("format_version", -1)), "resume with the stablepose version that wrote it");
    TrainerState s;
    try {
        s.step = j.at("step");
        s.cursor.epoch = j.at("cursor").at("epoch");
        s.cursor.batch = j.at("cursor").at("batch");
        s.samples_seen = j.at("samples_seen");
        s.nonfinite_streak = j.at("nonfinite_streak");
        for (const auto& item : j.at("rng").items())
            s.rng[item.key()] = hex_to_tensor(item.value().get<std::string>(), source + " rng." + item.key());
        s.loss_scaler = j.at("loss_scaler");
        s.paths = j.at("paths");
        s.model_hashes = j.at("model_hashes");
    } catch (const json::exception& e) {
        fail(source + ": a field is missing or has the wrong type", "the layout of docs/train.md", e.what());
    }
    return s;
}

std::string checkpoint_name(int64_t step) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%s%08lld", kPrefix, static_cast<long long>(step));
    return buf;
}

std::vector<fs::path> list_checkpoints(const fs::path& run_dir) {
    std::vector<std::pair<int64_t, fs::path>> found;
    const auto dir = run_dir / "checkpoints";
    if (fs::is_directory(dir))
        for (const auto& entry : fs::directory_iterator(dir))
            if (entry.is_directory() && step_of(entry.path()) >= 0) found.emplace_back(step_of(entry.path()), entry.path());
    std::sort(found.begin(), found.end());
    std::vector<fs::path> out;
    for (auto& f : found) out.push_back(f.second);
    return out;
}

fs::path write_checkpoint(const fs::path& run_dir, const TrainerState& state, const json& config,
                          const StablePoseAdapter& adapter, ConditionRange range, const torch::optim::AdamW& optimizer,
                          int keep_last) {
    const auto root = run_dir / "checkpoints";
    const auto final_dir = root / checkpoint_name(state.step);
    const auto tmp = root / (".tmp-" + checkpoint_name(state.step) + "-" + std::to_string(::getpid()));
    remove_tree(tmp);
    fs::create_directories(tmp);
    std::map<std::string, std::string> metadata{{"step", std::to_string(state.step)}};
    if (config.contains("pose_condition")) metadata["pose_condition"] = config.at("pose_condition").dump();
    save_adapter(tmp / "adapter.safetensors", adapter, range, metadata);
    write_safetensors(tmp / "optimizer.safetensors", optimizer_state_tensors(optimizer, *adapter),
                      {{"format", "stablepose.adamw-state"}, {"step", std::to_string(state.step)}});
    write_file_atomic(tmp / "config.json", config.dump(2) + "\n");
    // The state file last: a folder with trainer_state.json is complete.
    write_file_atomic(tmp / "trainer_state.json", state.to_json().dump(2) + "\n");
    if (fs::exists(final_dir)) {  // the same step again (a resumed run ending where it started): replace
        const auto old = root / (".old-" + checkpoint_name(state.step) + "-" + std::to_string(::getpid()));
        fs::rename(final_dir, old);
        fs::rename(tmp, final_dir);
        remove_tree(old);
    } else {
        fs::rename(tmp, final_dir);
    }
    auto all = list_checkpoints(run_dir);
    for (size_t i = 0; i + static_cast<size_t>(keep_last) < all.size(); ++i) remove_tree(all[i]);
    return final_dir;
}

CheckpointContents read_checkpoint(const fs::path& path) {
    fs::path dir = path;
    if (!fs::exists(path))
        fail("checkpoint not found: " + path.string(), "a checkpoint folder or a run folder", "no such path");
    if (!fs::exists(path / "trainer_state.json")) {
        const auto all = list_checkpoints(path);
        if (all.empty())
            fail("no checkpoint in " + path.string(), "RUN/checkpoints/step-*/trainer_state.json, or a step-* folder",
                 "none", "give a run folder written by stablepose train, or one of its checkpoints");
        dir = all.back();
    }
    CheckpointContents c;
    c.dir = dir;
    c.state = TrainerState::from_json(read_json_file(dir / "trainer_state.json"), (dir / "trainer_state.json").string());
    c.config = read_json_file(dir / "config.json");
    for (const char* f : {"adapter.safetensors", "optimizer.safetensors"})
        if (!fs::exists(dir / f))
            fail("checkpoint incomplete: " + (dir / f).string() + " is missing",
                 "adapter and optimizer files", "missing",
                 "resume from another checkpoint (RUN/checkpoints/step-*)");
    return c;
}

fs::path run_folder_of(const fs::path& checkpoint_dir) {
    const auto parent = checkpoint_dir.lexically_normal().parent_path();
    if (parent.filename() != "checkpoints") return {};
    return parent.parent_path().empty() ? fs::path(".") : parent.parent_path();
}

std::map<std::string, torch::Tensor> optimizer_state_tensors(const torch::optim::AdamW& optimizer,
                                                             const torch::nn::Module& module) {
    std::map<std::string, torch::Tensor> out;
    const auto& state = optimizer.state();
    for (const auto& item : module.named_parameters()) {
        auto it = state.find(item.value().unsafeGetTensorImpl());
        if (it == state.end()) continue;
        const auto& s = static_cast<const torch::optim::AdamWParamState&>(*it->second);
        out[item.key() + ".exp_avg"] = s.exp_avg();
        out[item.key() + ".exp_avg_sq"] = s.exp_avg_sq();
        out[item.key() + ".step"] = torch::tensor({s.step()}, torch::kInt64);
        if (s.max_exp_avg_sq().defined()) out[item.key() + ".max_exp_avg_sq"] = s.max_exp_avg_sq();
    }
    return out;
}

void load_optimizer_state(torch::optim::AdamW& optimizer, const torch::nn::Module& module, const fs::path& file) {
    auto saved = read_safetensors(file).tensors;
    auto params = module.named_parameters();
    auto& state = optimizer.state();
    state.clear();
    size_t used = 0;
    for (const auto& item : params) {
        const auto& p = item.value();
        const auto key = item.key();
        if (!saved.count(key + ".exp_avg")) continue;
        auto s = std::make_unique<torch::optim::AdamWParamState>();
        for (const char* part : {".exp_avg", ".exp_avg_sq", ".step"})
            if (!saved.count(key + part))
                fail("optimizer state " + file.string() + ": " + key + part + " is missing",
                     "the AdamW moments and step of every adapter parameter", "no " + key + part,
                     "the file is damaged or from another adapter; resume from another checkpoint "
                     "(RUN/checkpoints/step-*)");
        const auto& m = saved.at(key + ".exp_avg");
        if (!m.sizes().equals(p.sizes()))
            fail("optimizer state " + file.string() + " does not fit parameter " + key, c10::str(p.sizes()),
                 c10::str(m.sizes()), "resume with the adapter config of the checkpoint");
        s->exp_avg(m.to(p.device(), p.scalar_type()).clone());
        s->exp_avg_sq(saved.at(key + ".exp_avg_sq").to(p.device(), p.scalar_type()).clone());
        s->step(saved.at(key + ".step").item<int64_t>());
        if (saved.count(key + ".max_exp_avg_sq"))
            s->max_exp_avg_sq(saved.at(key + ".max_exp_avg_sq").to(p.device(), p.scalar_type()).clone());
        state[p.unsafeGetTensorImpl()] = std::move(s);
        used += saved.count(key + ".max_exp_avg_sq") ? 4 : 3;
    }
    if (used != saved.size()) {
        for (const auto& [name, t] : saved) {
            const auto dot = name.rfind('.');
            if (!params.contains(name.substr(0, dot)))
                fail("optimizer state " + file.string() + " names an unknown parameter", "an adapter parameter",
                     name.substr(0, dot), "resume with the adapter config of the checkpoint");
        }
    }
}

std::string tensor_to_hex(const torch::Tensor& bytes) {
    static const char* digits = "0123456789abcdef";
    const auto t = bytes.to(torch::kCPU).contiguous();
    const auto* p = t.data_ptr<uint8_t>();
    std::string out;
    out.reserve(static_cast<size_t>(t.numel()) * 2);
    for (int64_t i = 0; i < t.numel(); ++i) {
        out.push_back(digits[p[i] >> 4]);
        out.push_back(digits[p[i] & 15]);
    }
    return out;
}

torch::Tensor hex_to_tensor(const std::string& hex, const std::string& what) {
    if (hex.size() % 2) fail(what + ": odd number of hex digits");
    auto t = torch::empty({static_cast<int64_t>(hex.size() / 2)}, torch::kUInt8);
    auto* p = t.data_ptr<uint8_t>();
    auto nibble = [&](char c) -> int {
        if (c >= '0' && c <= '9') return c - '0';
        if (c >= 'a' && c <= 'f') return c - 'a' + 10;
        fail(what + ": not a hex digit", "0-9a-f", std::string(1, c));
    };
    for (size_t i = 0; i < hex.size() / 2; ++i) p[i] = static_cast<uint8_t>(nibble(hex[2 * i]) << 4 | nibble(hex[2 * i + 1]));
    return t;
}

}  // namespace stablepose
