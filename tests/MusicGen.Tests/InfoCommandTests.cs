using System.Text.Json;
using static MusicGen.Tests.TestCli;

namespace MusicGen.Tests;

public class InfoCommandTests
{
    [Fact]
    public void A_trained_model_says_how_it_was_trained()
    {
        using var temp = new TempFolder();
        string songs = TestAudio.MelodyFolder(temp, count: 3);
        string model = temp.File("m.zip");
        Succeeded(Run(["train", songs, "--model", model, .. TinyModel]));

        var (code, text, _) = Run("info", model);
        Assert.Equal(0, code);
        Assert.Contains("kind             token model", text);
        Assert.Contains("memories         recent-token caches, successor cache, beat clock\n", text.ReplaceLineEndings("\n"));
        Assert.Contains("preset           default", text);
        Assert.Contains("trained on       3 file(s): song0.wav, song1.wav, song2.wav", text);
        Assert.Contains("epochs           2", text);
        Assert.Contains("repeat previous token", text);

        var json = JsonDocument.Parse(Run("info", model, "--json").Out).RootElement;
        Assert.Equal(16, json.GetProperty("model").GetProperty("tokens").GetInt32());
        Assert.Equal("2", json.GetProperty("training").GetProperty("Settings").GetProperty("Epochs").GetString());
        Assert.Equal(ModelInfo.ReadFrom(model)!.TrainingFiles, ["song0.wav", "song1.wav", "song2.wav"]);

        // --onset-term reaches the network, and info gives its learned gain.
        string onset = temp.File("onset.zip");
        Succeeded(Run(["train", songs, "--model", onset, "--onset-term", .. TinyModel]));
        Assert.Matches(@"memories         recent-token caches, successor cache, beat clock, onset term \(gain -?[0-9.]+\)", Run("info", onset).Out);
        Assert.Equal("True", JsonDocument.Parse(Run("info", onset, "--json").Out).RootElement.GetProperty("training").GetProperty("Settings").GetProperty("OnsetTerm").GetString());
    }

    [Fact]
    public void A_model_saved_before_models_carried_their_history_still_tells_its_stages()
    {
        var (code, text, _) = Run("info", Path.Combine(AppContext.BaseDirectory, "Models", "format1-seed2017.zip"));
        Assert.Equal(0, code);
        Assert.Contains("kind             frame model", text);
        Assert.Contains("not recorded", text);
    }
}
